import { describe, expect, it } from 'vitest';
import { S3Client } from './s3-client.ts';

describe('S3 Signature Version 4', () => {
  it("signs exactly like AWS's documented example (GET Object with a Range header)", () => {
    // "Examples of the complete Version 4 signing process", Amazon S3 API reference: GET Object
    const client = new S3Client(
      {
        endpoint: 'https://examplebucket.s3.amazonaws.com',
        bucket: 'examplebucket',
        region: 'us-east-1',
        accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
        secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      },
      () => new Date(Date.UTC(2013, 4, 24, 0, 0, 0)),
    );
    const headers = client.signedHeaders('GET', '/test.txt', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', { Range: 'bytes=0-9' });
    expect(headers.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
    );
    client.close();
  });
});
