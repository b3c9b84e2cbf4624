import { createI18n } from 'vue-i18n';
import { en, zhCN } from './messages.ts';

export type Locale = 'zh-CN' | 'en';

const STORAGE_KEY = 'wecom-archive.locale';

/** The saved choice, else Chinese: the archive's readers are a Chinese company's staff. */
function initialLocale(): Locale {
  try {
    return localStorage.getItem(STORAGE_KEY) === 'en' ? 'en' : 'zh-CN';
  } catch {
    return 'zh-CN';
  }
}

/** The composition-API i18n instance (no legacy API: its message compiler runs without eval, which the CSP forbids). */
export const i18n = createI18n({
  legacy: false,
  locale: initialLocale(),
  fallbackLocale: 'zh-CN',
  messages: { 'zh-CN': zhCN, en },
});

export function setLocale(locale: Locale): void {
  i18n.global.locale.value = locale;
  document.documentElement.lang = locale;
  try {
    localStorage.setItem(STORAGE_KEY, locale);
  } catch {
    // private mode: the choice lasts for this page only
  }
}
