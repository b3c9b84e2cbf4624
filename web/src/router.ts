import { createRouter, createWebHistory } from 'vue-router';
import HomePage from './pages/HomePage.vue';
import NotFoundPage from './pages/NotFoundPage.vue';

/** History-mode routes: the server answers every non-API path with index.html, so deep links work. */
export const router = createRouter({
  history: createWebHistory(),
  routes: [
    { path: '/', name: 'home', component: HomePage },
    { path: '/:rest(.*)*', name: 'not-found', component: NotFoundPage },
  ],
});
