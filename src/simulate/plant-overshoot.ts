// Limit violations measured on the plant: the true current at every fuse-tree node and phase (and
// the import power cap) above its limit, in A·s, split into what the EMS caused and what followed an
// outside change it could not foresee (a building-load step, a PV swing) within one reaction window.

/** Over a limit by less than this is rounding, not a violation, A. */
const TOLERANCE_A = 0.05;

export interface OvershootEpisode {
  /** Circuit node id, or 'import' for the import power cap (A = W / voltage). */
  node: string;
  /** 0..2, or -1 for the import cap. */
  phase: number;
  fromMs: number;
  toMs: number;
  ampereSeconds: number;
  peakA: number;
  limitA: number;
  emsCaused: boolean;
}

export interface OvershootSummary {
  /** A·s above a limit outside every reaction window: the EMS's doing. */
  emsCausedAs: number;
  /** A·s above a limit within a reaction window after an outside change. */
  outsideAs: number;
  /** Distinct episodes (a limit crossed, until back under it). */
  episodes: number;
  emsCausedEpisodes: number;
  /** Highest true current above its limit, A (0: never over). */
  worstOverA: number;
  /** The reaction window after an outside change, ms (meter + cycle + charger + car). */
  reactionWindowMs: number;
  /** The largest EMS-caused episodes, worst first (at most 5). */
  worst: OvershootEpisode[];
  /** The largest episodes inside a reaction window after an outside change, worst first (at most 5). */
  worstOutside: OvershootEpisode[];
}

export class OvershootMeter {
  private readonly open = new Map<string, OvershootEpisode>();
  private readonly all: OvershootEpisode[] = [];
  private emsCausedAs = 0;
  private outsideAs = 0;
  private worstOverA = 0;

  constructor(readonly reactionWindowMs: number) {}

  /**
   * One limit over one plant step that ended at `atMs` and lasted `dtS`; `inWindow`: within a
   * reaction window after an outside change. True when this step opened a new episode.
   */
  track(key: string, node: string, phase: number, a: number, limitA: number, atMs: number, dtS: number, inWindow: boolean): boolean {
    const over = a - limitA;
    let episode = this.open.get(key);
    if (over <= TOLERANCE_A) {
      if (episode) this.open.delete(key);
      return false;
    }
    this.worstOverA = Math.max(this.worstOverA, over);
    const emsCaused = !inWindow;
    let opened = false;
    if (!episode || episode.emsCaused !== emsCaused) {
      opened = !episode;
      // The step counts from its start (the plant holds its end values over it): a long step that
      // ends over a limit opens its episode where the step began, not where it ended.
      episode = { node, phase, fromMs: atMs - dtS * 1000, toMs: atMs, ampereSeconds: 0, peakA: a, limitA, emsCaused };
      this.open.set(key, episode);
      this.all.push(episode);
    }
    episode.toMs = atMs;
    episode.ampereSeconds += over * dtS;
    episode.peakA = Math.max(episode.peakA, a);
    if (emsCaused) this.emsCausedAs += over * dtS;
    else this.outsideAs += over * dtS;
    return opened;
  }

  /** Unrounded totals and every episode in the order they opened (for tests and benches). */
  totals(): { emsCausedAs: number; outsideAs: number; episodes: readonly OvershootEpisode[] } {
    return { emsCausedAs: this.emsCausedAs, outsideAs: this.outsideAs, episodes: this.all };
  }

  summary(): OvershootSummary {
    const round = (x: number) => Math.round(x * 10) / 10;
    return {
      emsCausedAs: round(this.emsCausedAs),
      outsideAs: round(this.outsideAs),
      episodes: this.all.length,
      emsCausedEpisodes: this.all.filter((e) => e.emsCaused).length,
      worstOverA: Math.round(this.worstOverA * 100) / 100,
      reactionWindowMs: this.reactionWindowMs,
      worst: this.largest(true),
      worstOutside: this.largest(false),
    };
  }

  private largest(emsCaused: boolean): OvershootEpisode[] {
    const round = (x: number) => Math.round(x * 10) / 10;
    return this.all
      .filter((e) => e.emsCaused === emsCaused)
      .sort((a, b) => b.ampereSeconds - a.ampereSeconds)
      .slice(0, 5)
      .map((e) => ({ ...e, ampereSeconds: round(e.ampereSeconds), peakA: round(e.peakA) }));
  }
}
