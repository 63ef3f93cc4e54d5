// Settings: the site config as YAML, checked as you type against the same schema the EMS uses,
// problems marked at their line; saving goes through the server's validation (admins only).
import { ApiError } from '../api-client.ts';
import type { AppContext, View } from '../app-context.ts';
import { canAdminister } from '../app-context.ts';
import { checkConfigText, locateIssues, type LocatedIssue } from '../config-issues.ts';
import { h, replace, setText } from '../dom.ts';

export function settingsView(ctx: AppContext): View {
  const admin = canAdminister(ctx.role);
  const editor = h('textarea', {
    id: 'config-yaml',
    class: 'code',
    spellcheck: 'false',
    autocapitalize: 'none',
    autocomplete: 'off',
    wrap: 'off',
    readonly: !admin,
    'aria-describedby': 'config-help config-issues',
  });
  const gutter = h('div', { class: 'gutter', 'aria-hidden': 'true' });
  const marks = h('div', { class: 'marks', 'aria-hidden': 'true' });
  const issuesBox = h('div', { id: 'config-issues', 'aria-live': 'polite' });
  const status = h('p', { class: 'muted small', role: 'status' });
  const check = h('button', { type: 'button', class: 'secondary' }, 'Check');
  const save = h('button', { type: 'submit', class: 'primary' }, 'Save and apply');
  const reload = h('button', { type: 'button', class: 'secondary' }, 'Discard changes');
  let loaded = '';
  let timer: ReturnType<typeof setTimeout> | null = null;

  const restartNote = h('p', { class: 'banner tone-warn', role: 'status', hidden: true });
  const fileNote = h(
    'p',
    { class: 'banner tone-idle', hidden: true },
    'ℹ This EMS runs without a config file: changes are checked here and on the EMS, but are not kept after a restart.',
  );
  const overridesNote = h('p', { class: 'banner tone-idle', hidden: true, 'data-testid': 'overrides-note' });
  const showOverrides = (path: string | null, overrides: { path: string; sections: string[] } | null) => {
    // Where a save goes, said before it happens: over the installer's file (ems run), or into the
    // file itself (the demo's own copy, data/demo.yaml).
    overridesNote.hidden = path === null;
    if (path !== null && !overrides) return setText(overridesNote, `ℹ Saving writes your edits into ${path}; they are kept across restarts.`);
    if (!overrides) return;
    setText(
      overridesNote,
      overrides.sections.length
        ? `ℹ Your edits (${overrides.sections.join(', ')}) are kept in ${overrides.path}, over the installer's ${path ?? 'config'}, which stays unchanged. Delete that file to go back to the installer's config.`
        : `ℹ Edits are kept in ${overrides.path}, over the installer's ${path ?? 'config'}, which stays unchanged.`,
    );
  };
  let installerPath: string | null = null;
  const pendingRestart = new Set<string>();
  const showRestart = (sections: string[]) => {
    for (const section of sections) pendingRestart.add(section);
    restartNote.hidden = pendingRestart.size === 0;
    setText(restartNote, pendingRestart.size ? `⟳ Saved, waiting for a restart of the EMS to take effect: ${[...pendingRestart].join(', ')}.` : '');
  };

  const lineHeightPx = () => parseFloat(getComputedStyle(editor).lineHeight) || 20;

  const show = (issues: LocatedIssue[], source: string) => {
    editor.setAttribute('aria-invalid', String(issues.length > 0));
    const bad = new Map<number, string>();
    for (const i of issues) if (i.line !== null && !bad.has(i.line)) bad.set(i.line, i.message);
    const lines = editor.value.split('\n').length;
    replace(gutter, ...Array.from({ length: lines }, (_, n) => h('div', { class: bad.has(n + 1) ? 'bad' : '' }, bad.has(n + 1) ? `⚠${n + 1}` : String(n + 1))));
    const lh = lineHeightPx();
    replace(
      marks,
      ...[...bad].map(([line, message]) => h('div', { class: 'mark', style: `top:${(line - 1) * lh}px;height:${lh}px` }, h('span', { class: 'mark-text' }, `⚠ ${message}`))),
    );
    if (!issues.length) {
      replace(issuesBox);
      return;
    }
    replace(
      issuesBox,
      h('h3', { class: 'sub' }, `${issues.length} problem${issues.length === 1 ? '' : 's'} (${source})`),
      h(
        'ul',
        { class: 'issues' },
        ...issues.map((i) =>
          h(
            'li',
            {},
            h(
              'button',
              { type: 'button', class: 'link', onclick: () => i.line !== null && goTo(i.line) },
              h('span', { class: 'issue-where' }, `⚠ ${i.line !== null ? `Line ${i.line}` : 'Config'} · ${i.path || '(top level)'}`),
              h('span', { class: 'issue-what' }, i.message),
            ),
          ),
        ),
      ),
    );
    syncScroll();
  };

  const goTo = (line: number) => {
    const lines = editor.value.split('\n');
    const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
    editor.focus();
    editor.setSelectionRange(start, start + (lines[line - 1]?.length ?? 0));
    editor.scrollTop = Math.max(0, (line - 3) * lineHeightPx());
    syncScroll();
  };

  const syncScroll = () => {
    gutter.scrollTop = editor.scrollTop;
    marks.style.transform = `translate(0, ${-editor.scrollTop}px)`;
  };

  /** `reveal`: scroll to the first problem (on Check and Save, not while typing). */
  const runCheck = (reveal = false) => {
    // A check now supersedes the one pending from typing: left pending, it would fire after a
    // Save and wipe the Save's message ("Fix the marked problems first.") a moment later.
    if (timer) clearTimeout(timer);
    timer = null;
    const issues = checkConfigText(editor.value);
    const first = issues.find((i) => i.line !== null);
    if (reveal && first) goTo(first.line!);
    show(issues, 'checked in the browser');
    setText(status, issues.length ? '' : editor.value === loaded ? 'No unsaved changes.' : 'Looks valid. Save to apply it.');
    return issues;
  };

  const load = async () => {
    setText(status, 'Loading…');
    try {
      const config = await ctx.api.config();
      loaded = config.yaml;
      editor.value = loaded;
      showRestart(config.restartRequired);
      fileNote.hidden = config.path !== null;
      installerPath = config.path;
      showOverrides(config.path, config.overrides);
      runCheck();
      setText(status, admin ? 'No unsaved changes.' : 'Read only: only admins can change settings.');
    } catch (error) {
      const e = error as ApiError;
      setText(status, e.status === 403 ? 'Only admins can view the site config.' : `Could not load the config: ${e.message}`);
    }
  };

  editor.addEventListener('scroll', syncScroll);
  editor.addEventListener('input', () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => runCheck(), 300);
  });
  editor.addEventListener('keydown', (event) => {
    if (event.key !== 'Tab' || !admin) return;
    event.preventDefault();
    editor.setRangeText('  ', editor.selectionStart, editor.selectionEnd, 'end');
  });
  check.addEventListener('click', () => runCheck(true));
  reload.addEventListener('click', () => void load());

  const form = h(
    'form',
    { class: 'settings-form', 'aria-labelledby': 'settings-title' },
    restartNote,
    fileNote,
    overridesNote,
    h('label', { for: 'config-yaml', class: 'label' }, 'Site config (YAML)'),
    h(
      'p',
      { id: 'config-help', class: 'muted small' },
      'The same file as site.yaml. Problems are marked at their line as you type; saving validates again on the EMS and applies what is safe without a restart.',
    ),
    h('div', { class: 'editor' }, gutter, h('div', { class: 'editor-main' }, marks, editor)),
    issuesBox,
    admin ? h('div', { class: 'actions' }, save, check, reload) : null,
    status,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!admin) return;
    if (runCheck(true).length) {
      setText(status, 'Fix the marked problems first.');
      return;
    }
    save.disabled = true;
    setText(status, 'Saving…');
    try {
      const answer = (await ctx.api.saveConfigYaml(editor.value)) as Record<string, unknown> | string | null;
      loaded = editor.value;
      const a = answer && typeof answer === 'object' ? answer : {};
      const message = typeof a.message === 'string' ? a.message : '';
      if (a.saved === false) {
        setText(status, `Accepted by the EMS, but ${message || 'not written to a file'}.`);
        ctx.notify('Config accepted, not written to a file');
      } else {
        if (Array.isArray(a.restartRequired)) showRestart(a.restartRequired.map(String));
        const o = a.overrides as { path?: unknown; sections?: unknown } | undefined;
        if (o && typeof o.path === 'string' && Array.isArray(o.sections)) showOverrides(installerPath, { path: o.path, sections: o.sections.map(String) });
        // The EMS's message starts with what happened ("saved and applied"): said once, not after another "Saved.".
        setText(status, message ? `${message[0].toUpperCase()}${message.slice(1)}.` : 'Saved.');
        ctx.notify('Config saved');
      }
      show([], 'saved');
    } catch (error) {
      const e = error as ApiError;
      if (e.issues?.length) {
        const located = locateIssues(editor.value, e.issues);
        show(located, 'from the EMS');
        const first = located.find((i) => i.line !== null);
        if (first) goTo(first.line!);
        setText(status, 'The EMS refused the config; nothing was changed.');
      } else setText(status, `Not saved: ${e.message}`);
    } finally {
      save.disabled = false;
    }
  });

  void load();
  const el = h('div', { class: 'page settings' }, h('section', { class: 'panel' }, h('h2', { id: 'settings-title' }, 'Settings'), form));
  return { el, destroy: () => timer && clearTimeout(timer) };
}
