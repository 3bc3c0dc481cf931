// Recordings page: a calendar of recorded days, a day's timeline and list, playback, MP4 and clip download, the continuous-recording toggle.
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const HOUR = 3600_000;
  const MAX_CLIP_SECONDS = 3600;
  /** Recordings less than this apart count as back to back (a frame interval, with room for a late frame). */
  const GAP_MS = 2000;

  const state = {
    timeZone: undefined,
    days: [],
    day: undefined, // the selected day's answer from /api/recordings?day=
    playing: undefined, // the recording in the player
    follow: false, // reloading the live file when playback reaches its end
    status: undefined,
  };

  // ---- small DOM and formatting helpers ----

  /** An element with attributes (`class`, `text`, data-*, others) and children. */
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === false) continue;
      if (key === 'class') node.className = value;
      else if (key === 'text') node.textContent = value;
      else node.setAttribute(key, value === true ? '' : String(value));
    }
    for (const child of children) if (child !== undefined && child !== null) node.append(child);
    return node;
  }

  function problem(text) {
    const p = $('problem');
    p.textContent = text || '';
    p.hidden = !text;
  }

  async function getJson(url, init) {
    const res = await fetch(url, { credentials: 'same-origin', ...init });
    if (res.status === 401) {
      location.href = '/login';
      throw new Error('login required');
    }
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(body.error || `${url}: HTTP ${res.status}`);
    return body;
  }

  /** The Pi's wall-clock parts of an ISO 8601 time with offset, read from the text itself (no browser time zone involved). */
  function wall(iso) {
    const m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?/.exec(iso);
    if (!m) return undefined;
    return { day: `${m[1]}-${m[2]}-${m[3]}`, time: `${m[4]}:${m[5]}:${m[6]}`, hhmm: `${m[4]}:${m[5]}` };
  }

  /** `+01:00` → 3 600 000. */
  function offsetMs(text) {
    const m = /^([+-])(\d\d):?(\d\d)$/.exec(text || '');
    if (!m) return 0;
    return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) * 60_000;
  }

  function offsetText(ms) {
    const minutes = Math.round(Math.abs(ms) / 60_000);
    return `${ms < 0 ? '-' : '+'}${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
  }

  let zoneFormat;
  /** The Pi's UTC offset at instant `t` (ms), from the browser's time-zone data; `fallback` when the browser does not know the zone. */
  function zoneOffsetAt(t, fallback) {
    try {
      zoneFormat ??= new Intl.DateTimeFormat('en-US', {
        timeZone: state.timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
      });
      const p = Object.fromEntries(zoneFormat.formatToParts(new Date(t)).map((x) => [x.type, Number(x.value)]));
      const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour % 24, p.minute, p.second);
      return asUtc - (t - (t % 1000 + 1000) % 1000);
    } catch {
      return fallback;
    }
  }

  /**
   * The instant of a wall-clock time on `day` in the Pi's time zone (right on either side of a
   * daylight-saving change: the offset is looked up for the instant found, then checked again).
   */
  function instantOf(day, time, fallbackOffset) {
    const [y, mo, d] = day.split('-').map(Number);
    const [h, mi, s] = `${time}:00:00`.split(':').map(Number);
    const asUtc = Date.UTC(y, mo - 1, d, h, mi, s || 0);
    let t = asUtc - zoneOffsetAt(asUtc, fallbackOffset);
    const again = zoneOffsetAt(t, fallbackOffset);
    if (asUtc - again !== t) t = asUtc - again;
    return t;
  }

  /** An instant as ISO 8601 with the Pi's offset, the form the API takes and gives. */
  function isoOf(t, fallbackOffset) {
    const offset = zoneOffsetAt(t, fallbackOffset);
    return new Date(t + offset).toISOString().replace('Z', offsetText(offset));
  }

  function nextDay(day) {
    const [y, m, d] = day.split('-').map(Number);
    return new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
  }

  /** "Tuesday 1 December 2026" for YYYY-MM-DD (a calendar date: formatted in UTC, so no zone can shift it). */
  function longDay(day) {
    const [y, m, d] = day.split('-').map(Number);
    return new Intl.DateTimeFormat(undefined, { timeZone: 'UTC', weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' }).format(Date.UTC(y, m - 1, d));
  }

  function bytesText(n) {
    if (n < 1000) return `${n} B`;
    const units = ['kB', 'MB', 'GB', 'TB'];
    let v = n;
    let i = -1;
    do {
      v /= 1000;
      i++;
    } while (v >= 1000 && i < units.length - 1);
    return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
  }

  function durationText(seconds) {
    const s = Math.round(seconds);
    if (s < 60) return `${s} s`;
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const rest = s % 60;
    if (h) return `${h} h ${m} min`;
    return rest ? `${m} min ${rest} s` : `${m} min`;
  }

  // ---- the status bar and the continuous-recording toggle ----

  function showStatus(status) {
    state.status = status;
    if (!state.timeZone && status.timeZone) setZone(status.timeZone, status.utcOffset);
    const c = status.recording && status.recording.continuous;
    const pill = $('continuous');
    const toggle = $('continuous-toggle');
    if (!c || !c.enabled) {
      pill.textContent = 'not configured';
      pill.className = 'pill';
      toggle.hidden = true;
      return;
    }
    pill.textContent = c.paused ? 'paused' : c.writing ? 'on' : 'waiting for the camera';
    pill.className = `pill ${c.paused ? 'warn' : c.writing ? 'ok' : ''}`;
    toggle.hidden = false;
    toggle.disabled = false;
    toggle.textContent = c.paused ? 'Resume' : 'Pause';
    toggle.dataset.paused = String(Boolean(c.paused));
  }

  async function refreshStatus() {
    try {
      showStatus(await getJson('/api/status'));
    } catch (err) {
      problem(`Status: ${err.message}`);
    }
  }

  $('continuous-toggle').addEventListener('click', async () => {
    const toggle = $('continuous-toggle');
    const resume = toggle.dataset.paused === 'true';
    toggle.disabled = true;
    try {
      const answer = await getJson('/api/recording', {
        method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ continuous: resume }),
      });
      problem('');
      showStatus({ ...state.status, recording: { ...(state.status && state.status.recording), continuous: answer.continuous } });
    } catch (err) {
      problem(`Could not ${resume ? 'resume' : 'pause'} recording: ${err.message}`);
    } finally {
      toggle.disabled = false;
      refreshStatus();
    }
  });

  function setZone(timeZone, utcOffset) {
    state.timeZone = timeZone;
    zoneFormat = undefined;
    $('zone').textContent = `${timeZone}${utcOffset ? ` (UTC${utcOffset} now)` : ''}`;
  }

  // ---- the calendar ----

  const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

  /** Month grids, newest month first, each day with recordings a button. */
  function renderCalendar() {
    const box = $('calendar');
    box.replaceChildren();
    if (!state.days.length) {
      box.append(el('p', { class: 'muted', text: 'No recordings yet.' }));
      return;
    }
    const byMonth = new Map();
    for (const d of state.days) {
      const month = d.day.slice(0, 7);
      if (!byMonth.has(month)) byMonth.set(month, new Map());
      byMonth.get(month).set(Number(d.day.slice(8)), d);
    }
    const months = [...byMonth.keys()].sort().reverse();
    for (const month of months) {
      const [y, m] = month.split('-').map(Number);
      const title = new Intl.DateTimeFormat(undefined, { timeZone: 'UTC', month: 'long', year: 'numeric' }).format(Date.UTC(y, m - 1, 1));
      const grid = el('div', { class: 'month-grid', role: 'grid' });
      for (const w of WEEKDAYS) grid.append(el('span', { class: 'weekday', text: w, 'aria-hidden': 'true' }));
      const firstWeekday = (new Date(Date.UTC(y, m - 1, 1)).getUTCDay() + 6) % 7;
      const length = new Date(Date.UTC(y, m, 0)).getUTCDate();
      for (let i = 0; i < firstWeekday; i++) grid.append(el('span', { class: 'blank' }));
      for (let d = 1; d <= length; d++) {
        const info = byMonth.get(month).get(d);
        if (!info) {
          grid.append(el('span', { class: 'empty', text: String(d) }));
          continue;
        }
        const kinds = [info.continuous ? `${info.continuous} continuous` : '', info.detection ? `${info.detection} detection` : ''].filter(Boolean).join(', ');
        const button = el('button', {
          type: 'button', class: `has${info.detection ? ' has-detection' : ''}`, 'data-day': info.day,
          'aria-pressed': String(state.day !== undefined && state.day.day === info.day),
          title: `${longDay(info.day)}: ${info.recordings} recording${info.recordings === 1 ? '' : 's'} (${kinds}), ${bytesText(info.bytes)}`,
        }, el('span', { class: 'num', text: String(d) }), el('span', { class: 'count', text: String(info.recordings) }));
        button.addEventListener('click', () => selectDay(info.day));
        grid.append(button);
      }
      box.append(el('div', { class: 'month' }, el('h3', { text: title }), grid));
    }
  }

  async function refreshDays() {
    try {
      const answer = await getJson('/api/recordings/days');
      if (answer.timeZone && answer.timeZone !== state.timeZone) setZone(answer.timeZone, state.status && state.status.utcOffset);
      state.days = answer.days;
      renderCalendar();
    } catch (err) {
      problem(`Days: ${err.message}`);
    }
  }

  // ---- the day view ----

  let dayRequests = 0;
  let wantedDay;

  /** Shows `day`; `keepPlayer`: a refresh of the day shown (the player is left alone), dropped once another day is wanted. */
  async function selectDay(day, { keepPlayer = false } = {}) {
    if (!keepPlayer) wantedDay = day;
    else if (day !== wantedDay) return;
    // Only the newest request counts: days clicked in quick succession may answer out of order.
    const request = ++dayRequests;
    let answer;
    try {
      answer = await getJson(`/api/recordings?day=${encodeURIComponent(day)}`);
    } catch (err) {
      if (request === dayRequests) problem(`${day}: ${err.message}`);
      return;
    }
    if (request !== dayRequests) return;
    problem('');
    const changed = !state.day || state.day.day !== day;
    state.day = answer;
    if (changed) {
      const params = new URLSearchParams(location.search);
      params.set('day', day);
      history.replaceState(null, '', `${location.pathname}?${params}`);
    }
    for (const b of document.querySelectorAll('#calendar button[data-day]')) b.setAttribute('aria-pressed', String(b.dataset.day === day));
    $('day').hidden = false;
    $('day-title').textContent = longDay(day);
    renderTimeline();
    renderList();
    markPlaying();
    if (changed) defaultClip();
    updateClipLink();
    if (!keepPlayer && changed) {
      const recs = answer.recordings;
      if (recs.length) load(recs[recs.length - 1], 0, false);
      else $('player-box').hidden = true;
    }
  }

  /** The day's bounds as instants: local midnight to the next local midnight (23 or 25 hours on a daylight-saving day). */
  function dayBounds() {
    const fallback = offsetMs(state.day.utcOffset);
    const start = Date.parse(`${state.day.day}T00:00:00${state.day.utcOffset || 'Z'}`);
    const end = instantOf(nextDay(state.day.day), '00:00:00', fallback);
    return { start, end: end > start ? end : start + 24 * HOUR };
  }

  /** Intervals covered by any recording, merged; everything between them in the range is a gap. */
  function covered(recs) {
    const spans = recs.map((r) => [Date.parse(r.start), Date.parse(r.end)]).sort((a, b) => a[0] - b[0]);
    const merged = [];
    for (const [s, e] of spans) {
      const last = merged[merged.length - 1];
      if (last && s - last[1] <= GAP_MS) last[1] = Math.max(last[1], e);
      else merged.push([s, e]);
    }
    return merged;
  }

  function renderTimeline() {
    const lanes = $('timeline-lanes');
    const ticks = $('timeline-ticks');
    lanes.replaceChildren();
    ticks.replaceChildren();
    const { start: dayStart, end: dayEnd } = dayBounds();
    const recs = state.day.recordings;
    // Whole hours around what was recorded, so that short recordings are visible and gaps still show.
    let from = dayStart;
    let to = dayEnd;
    if (recs.length) {
      const first = Math.min(...recs.map((r) => Date.parse(r.start)));
      const last = Math.max(...recs.map((r) => Date.parse(r.end)));
      from = Math.max(dayStart, dayStart + Math.floor((first - dayStart) / HOUR) * HOUR);
      to = Math.min(dayEnd, dayStart + Math.ceil((last - dayStart) / HOUR) * HOUR);
      if (to - from < HOUR) to = Math.min(dayEnd, from + HOUR);
      if (to <= from) to = from + HOUR;
    }
    const span = to - from;
    const pct = (t) => `${(((Math.min(Math.max(t, from), to) - from) / span) * 100).toFixed(4)}%`;
    const width = (s, e) => `${(((Math.min(e, to) - Math.max(s, from)) / span) * 100).toFixed(4)}%`;
    state.timelineRange = { from, to };

    const gapLane = el('div', { class: 'lane gaps', 'aria-hidden': 'true' });
    let cursor = from;
    for (const [s, e] of covered(recs)) {
      if (s > cursor) gapLane.append(positioned(el('span', { class: 'gap' }), pct(cursor), width(cursor, s)));
      cursor = Math.max(cursor, e);
    }
    const now = Date.now();
    const liveEnd = Math.min(to, now);
    if (liveEnd > cursor) gapLane.append(positioned(el('span', { class: 'gap' }), pct(cursor), width(cursor, liveEnd)));

    const laneOf = { continuous: el('div', { class: 'lane continuous' }), detection: el('div', { class: 'lane detection' }) };
    for (const rec of recs) {
      const s = Date.parse(rec.start);
      const e = Date.parse(rec.end);
      const button = el('button', {
        type: 'button', class: `rec ${rec.kind}${rec.live ? ' live' : ''}`, 'data-name': rec.name,
        title: `${rec.name}: ${wall(rec.start).time}–${wall(rec.end).time}${rec.live ? ' (being written)' : ''}`,
        'aria-label': `Play ${rec.kind} recording ${wall(rec.start).time} to ${wall(rec.end).time}`,
      });
      // Clicked where in the bar: play from that moment (a bar too narrow to aim at plays from its start).
      button.addEventListener('click', (event) => {
        const lane = lanes.getBoundingClientRect();
        const at = from + ((event.clientX - lane.left) / lane.width) * span;
        const offset = button.getBoundingClientRect().width > 8 ? Math.min(Math.max((at - s) / 1000, 0), rec.durationSeconds) : 0;
        load(rec, offset, true);
      });
      laneOf[rec.kind === 'detection' ? 'detection' : 'continuous'].append(positioned(button, pct(s), width(s, e)));
    }
    const periods = el('div', { class: 'lane periods', 'aria-hidden': 'true' });
    for (const p of state.day.detections || []) {
      const s = Date.parse(p.start);
      const e = p.end ? Date.parse(p.end) : Math.max(s, Math.min(now, to));
      if (e < from || s > to) continue;
      periods.append(positioned(el('span', { class: 'period', title: `detection ${wall(p.start).time}–${p.end ? wall(p.end).time : 'now'}` }), pct(s), width(s, e)));
    }
    lanes.append(laneOf.continuous, laneOf.detection, periods, gapLane);

    // Hour ticks by the wall clock (a daylight-saving day has an hour twice or not at all).
    // As many labels as fit (about 3.5 rem each), on a step a person reads easily.
    const fit = Math.max(2, Math.floor((lanes.clientWidth || 320) / 56));
    const step = [5, 10, 15, 30, 60, 120, 180, 360].map((m) => m * 60_000).find((s) => span / s <= fit) || 6 * HOUR;
    const fallback = offsetMs(state.day.utcOffset);
    const offsetFrom = zoneOffsetAt(from, fallback);
    for (let t = Math.ceil((from + offsetFrom) / step) * step - offsetFrom; t <= to; t += step) {
      const label = new Date(t + zoneOffsetAt(t, fallback)).toISOString().slice(11, 16);
      // The labels at either end stay inside the timeline (no sideways scrolling on a phone).
      const edge = t - from < span * 0.04 ? ' first' : to - t < span * 0.04 ? ' last' : '';
      ticks.append(positioned(el('span', { class: `tick${edge}`, text: label }), pct(t)));
    }
  }

  /** Places a timeline element by percentages (CSSOM, which the page's CSP allows; no style attributes). */
  function positioned(node, left, width) {
    node.style.left = left;
    if (width !== undefined) node.style.width = width;
    return node;
  }

  /** Any detection period overlapping [s, e]. */
  function detectedIn(s, e) {
    return (state.day.detections || []).some((p) => Date.parse(p.start) <= e && (p.end ? Date.parse(p.end) : Infinity) >= s);
  }

  function renderList() {
    const list = $('list');
    list.replaceChildren();
    const recs = state.day.recordings;
    if (!recs.length) {
      list.append(el('li', { class: 'muted', text: 'Nothing recorded on this day.' }));
      return;
    }
    // Gaps between what continuous or detection recordings cover, in time order with the recordings.
    const rows = recs.map((rec) => ({ at: Date.parse(rec.start), rec }));
    const merged = covered(recs);
    for (let i = 1; i < merged.length; i++) rows.push({ at: merged[i - 1][1] + 0.5, gap: [merged[i - 1][1], merged[i][0]] });
    rows.sort((a, b) => a.at - b.at);
    for (const row of rows) {
      if (row.gap) {
        const [s, e] = row.gap;
        const fallback = offsetMs(state.day.utcOffset);
        list.append(el('li', { class: 'gap-row' },
          el('span', { text: `no recording ${isoOf(s, fallback).slice(11, 19)}–${isoOf(e, fallback).slice(11, 19)} (${durationText((e - s) / 1000)})` })));
        continue;
      }
      const rec = row.rec;
      // A detection clip is a detection by its kind; a continuous file gets the mark when a detection falls within it.
      const detected = rec.kind !== 'detection' && detectedIn(Date.parse(rec.start), Date.parse(rec.end));
      // A recording that began the day before (over midnight) says so.
      const startDay = wall(rec.start).day !== state.day.day ? `${wall(rec.start).day} ` : '';
      const play = el('button', { type: 'button', class: 'play', text: 'Play', 'aria-label': `Play ${rec.name}` });
      play.addEventListener('click', () => load(rec, 0, true));
      list.append(el('li', { class: `rec-row ${rec.kind}${rec.live ? ' live' : ''}`, 'data-name': rec.name },
        el('span', { class: 'when' }, el('strong', { text: `${startDay}${wall(rec.start).time}` }), ' – ', el('span', { class: 'end', text: wall(rec.end).time })),
        el('span', { class: 'duration', text: durationText(rec.durationSeconds) }),
        el('span', { class: 'size', text: bytesText(rec.bytes) }),
        el('span', { class: `kind ${rec.kind}`, text: rec.kind }),
        el('span', { class: 'badges' },
          detected ? el('span', { class: 'badge detected', text: 'detection' }) : undefined,
          rec.live ? el('span', { class: 'badge live', text: 'being written' }) : undefined),
        play,
        el('a', { class: 'button', href: `${rec.url}?download=1`, download: rec.name, text: 'MP4', 'aria-label': `Download ${rec.name}` }),
      ));
    }
  }

  // ---- playback ----

  const video = $('player');

  /** Puts `rec` in the player at `offsetSeconds`; `play` starts playback. */
  function load(rec, offsetSeconds, play) {
    state.playing = rec;
    state.follow = Boolean(rec.live);
    $('player-box').hidden = false;
    video.dataset.name = rec.name;
    const wanted = offsetSeconds;
    video.addEventListener('loadedmetadata', () => {
      if (wanted > 0) video.currentTime = Math.min(wanted, Math.max(0, video.duration - 0.05));
      if (play) video.play().catch(() => {}); // a browser may want a click first: the controls are there
    }, { once: true });
    // A live file grows: each load asks anew (the query keeps a cache from answering with the shorter file).
    video.src = rec.live ? `${rec.url}?at=${Date.now()}` : rec.url;
    $('playing').textContent = `${rec.kind} ${wall(rec.start).time}–${wall(rec.end).time}${rec.live ? ' (being written)' : ''}`;
    $('download').href = `${rec.url}?download=1`;
    $('download').setAttribute('download', rec.name);
    $('reload').hidden = !rec.live;
    markPlaying();
  }

  /** Marks the recording in the player on the timeline and in the list. */
  function markPlaying() {
    const name = state.playing && state.playing.name;
    for (const b of document.querySelectorAll('.rec[data-name], .rec-row[data-name]')) b.classList.toggle('selected', b.dataset.name === name);
  }

  /** Loads what has been written of the live file since, at the same position. */
  async function reloadLive(play) {
    const rec = state.playing;
    if (!rec) return;
    const at = video.currentTime;
    await selectDay(state.day.day, { keepPlayer: true });
    const fresh = state.day.recordings.find((r) => r.name === rec.name) || rec;
    load(fresh, at, play);
  }

  $('reload').addEventListener('click', () => reloadLive(!video.paused || video.ended));

  let lastFollow = 0;
  // At the end of a recording: the file being written is fetched again (what was written meanwhile),
  // a finished one is followed by the next of its kind, so that watching goes on across files.
  video.addEventListener('ended', () => {
    const rec = state.playing;
    if (!rec) return;
    if (rec.live && state.follow) {
      // A file that is not growing (the camera is down) is asked for again at most every 2 s.
      const wait = Math.max(0, lastFollow + 2000 - Date.now());
      setTimeout(() => {
        lastFollow = Date.now();
        if (state.playing === rec) reloadLive(true);
      }, wait);
      return;
    }
    const end = Date.parse(rec.end);
    const next = state.day.recordings.find((r) => r.kind === rec.kind && r.name !== rec.name && Date.parse(r.start) >= end - GAP_MS);
    if (next) load(next, 0, true);
  });

  /** The player's position as a wall-clock instant. */
  function playerInstant() {
    if (!state.playing) return undefined;
    return Date.parse(state.playing.start) + video.currentTime * 1000;
  }

  // ---- clip export ----

  function defaultClip() {
    const recs = state.day.recordings;
    const last = recs[recs.length - 1];
    if (!last) {
      $('clip-start').value = '';
      $('clip-end').value = '';
      return;
    }
    const fallback = offsetMs(state.day.utcOffset);
    const end = Date.parse(last.end);
    const start = Math.max(Date.parse(last.start), end - 60_000);
    $('clip-start').value = isoOf(start, fallback).slice(11, 19);
    $('clip-end').value = isoOf(end, fallback).slice(11, 19);
  }

  function updateClipLink() {
    const link = $('clip-link');
    const note = $('clip-note');
    const fail = (text) => {
      link.removeAttribute('href');
      link.setAttribute('aria-disabled', 'true');
      note.textContent = text;
    };
    if (!state.day) return fail('');
    const startText = $('clip-start').value;
    const endText = $('clip-end').value;
    if (!startText || !endText) return fail('Choose a start and an end time.');
    const fallback = offsetMs(state.day.utcOffset);
    const start = instantOf(state.day.day, startText, fallback);
    const end = instantOf(state.day.day, endText, fallback);
    if (end <= start) return fail('The end must be after the start.');
    const seconds = (end - start) / 1000;
    if (seconds > MAX_CLIP_SECONDS) return fail('A clip is at most one hour long.');
    const inside = state.day.recordings.some((r) => Date.parse(r.start) <= end && Date.parse(r.end) >= start);
    if (!inside) return fail('Nothing was recorded in that time.');
    const startIso = isoOf(start, fallback);
    const endIso = isoOf(end, fallback);
    link.href = `/api/clip.mp4?start=${encodeURIComponent(startIso)}&end=${encodeURIComponent(endIso)}`;
    link.setAttribute('download', `clip-${state.day.day.replaceAll('-', '')}-${startText.replaceAll(':', '')}.mp4`);
    link.setAttribute('aria-disabled', 'false');
    note.textContent = `${durationText(seconds)}, from the keyframe at or before ${startText}.`;
  }

  function setFromPlayer(input) {
    const t = playerInstant();
    if (t === undefined) return;
    $(input).value = isoOf(t, offsetMs(state.day.utcOffset)).slice(11, 19);
    updateClipLink();
  }

  $('clip-start').addEventListener('input', updateClipLink);
  $('clip-end').addEventListener('input', updateClipLink);
  $('clip-start-here').addEventListener('click', () => setFromPlayer('clip-start'));
  $('clip-end-here').addEventListener('click', () => setFromPlayer('clip-end'));
  $('clip').addEventListener('submit', (event) => event.preventDefault());
  $('clip-link').addEventListener('click', (event) => {
    if ($('clip-link').getAttribute('aria-disabled') === 'true') event.preventDefault();
  });

  // ---- start ----

  async function start() {
    await refreshStatus();
    await refreshDays();
    const wanted = new URLSearchParams(location.search).get('day');
    const day = state.days.find((d) => d.day === wanted) ? wanted : state.days[0] && state.days[0].day;
    if (day) await selectDay(day);
    // New files and the status change while the page is open: refresh now and then (the player is left alone).
    setInterval(refreshStatus, 5000);
    setInterval(async () => {
      await refreshDays();
      if (state.day && state.day.recordings.some((r) => r.live)) selectDay(state.day.day, { keepPlayer: true });
    }, 15_000);
  }

  start();
})();
