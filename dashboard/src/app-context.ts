// What every page gets: the API, who is logged in, and the live state as it arrives.
import type { ApiClient } from './api-client.ts';
import type { Role, StateView } from './api-types.ts';
import type { SiteTime } from './format.ts';
import type { LiveFeed } from './live-feed.ts';

export interface AppContext {
  api: ApiClient;
  feed: LiveFeed;
  username: string;
  role: Role;
  /** The newest state, or null before the first one. */
  latest(): StateView | null;
  /** Called with every new state (and at once with the newest); returns the unsubscribe. */
  subscribe(listener: (state: StateView) => void): () => void;
  /** Times as the site's clock reads them (its `site.timezone`), whatever the browser's zone. */
  siteTime(): SiteTime;
  /** A short, polite message at the bottom of the screen. */
  notify(message: string, tone?: 'ok' | 'bad'): void;
}

export interface View {
  readonly el: HTMLElement;
  destroy?(): void;
}

export const canSteer = (role: Role): boolean => role === 'operator' || role === 'admin';
export const canAdminister = (role: Role): boolean => role === 'admin';
