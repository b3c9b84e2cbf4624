import { createRouter, createWebHistory, type RouteLocationNormalized } from 'vue-router';
import { onSignedOut } from './api/client.ts';
import { loadMe, me } from './api/session.ts';
import ConversationsPage from './pages/ConversationsPage.vue';
import HomePage from './pages/HomePage.vue';
import LoginPage from './pages/LoginPage.vue';
import NotFoundPage from './pages/NotFoundPage.vue';

// pages past the first screen load on demand, so the first load stays small
const SearchPage = () => import('./pages/SearchPage.vue');
const GalleryPage = () => import('./pages/GalleryPage.vue');
const PersonPage = () => import('./pages/PersonPage.vue');
const OpsPage = () => import('./pages/OpsPage.vue');

/**
 * History-mode routes: the server answers every non-API path with index.html, so deep links work.
 * Every route but the login page needs a session; without one the reader goes to `/login?next=…`
 * and comes back to the same place after signing in.
 */
export const router = createRouter({
  history: createWebHistory(),
  routes: [
    { path: '/login', name: 'login', component: LoginPage, meta: { public: true } },
    { path: '/', name: 'home', component: HomePage },
    { path: '/search', name: 'search', component: SearchPage },
    { path: '/c/:corpid/:conversation/media', name: 'gallery', component: GalleryPage },
    { path: '/customers/:corpid/:id', name: 'customer', component: PersonPage, props: { kind: 'customer' } },
    { path: '/members/:corpid/:id', name: 'member', component: PersonPage, props: { kind: 'member' } },
    { path: '/ops', name: 'ops', component: OpsPage },
    { path: '/c/:corpid/:conversation?', name: 'conversations', component: ConversationsPage },
    { path: '/:rest(.*)*', name: 'not-found', component: NotFoundPage },
  ],
});

/** Where to come back to: a path inside the app, never another origin. */
export function safeNext(next: unknown): string {
  return typeof next === 'string' && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') ? next : '/';
}

function toLogin(from: RouteLocationNormalized) {
  return { name: 'login', query: from.fullPath === '/' ? {} : { next: from.fullPath } };
}

router.beforeEach(async (to) => {
  if (to.meta.public) return true;
  let who = me.value;
  if (who === undefined) {
    // an API that cannot answer (down, or not this server) reads as signed out: the login page says why on submit
    who = await loadMe().catch(() => null);
  }
  return who ? true : toLogin(to);
});

onSignedOut(() => {
  me.value = null;
  const current = router.currentRoute.value;
  if (!current.meta.public) void router.push(toLogin(current));
});
