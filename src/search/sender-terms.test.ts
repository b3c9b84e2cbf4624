import { describe, expect, it } from 'vitest';
import { takeSenderTerms } from './sender-terms.ts';

describe('takeSenderTerms', () => {
  it('takes from:X terms out of the query, a quoted X with its spaces', () => {
    expect(takeSenderTerms('合同 from:张三 发票')).toEqual({ rest: '合同 发票', senders: ['张三'] });
    expect(takeSenderTerms('FROM:zs deploy* from:"John Smith"')).toEqual({ rest: 'deploy*', senders: ['zs', 'John Smith'] });
    // a full-width colon is a colon
    expect(takeSenderTerms('from：zhangsan 报价')).toEqual({ rest: '报价', senders: ['zhangsan'] });
  });

  it('leaves text that only looks like a sender term', () => {
    for (const query of ['"from:张三" 合同', '-"a from:x" 合同', 'from: 合同', 'wherefrom:x 合同', '-from:x 合同']) {
      expect(takeSenderTerms(query), query).toEqual({ rest: query.replace('：', ':'), senders: [] });
    }
  });
});
