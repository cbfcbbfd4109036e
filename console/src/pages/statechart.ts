/**
 * A machine's statechart, laid out from its definition (/v1/Machines): states in columns by their
 * distance from the initial state, transitions as arrows. The states and transitions a call went through
 * up to the chosen revision are highlighted, the state it was in then most of all.
 */
import { html } from '../html.ts';
import type { ChartState } from '../types.ts';

const COL = 170;
const ROW = 58;
const W = 128;
const H = 34;
const PAD = 16;

interface Edge {
  from: string;
  to: string;
  events: string[];
}

/** Leaf states (a compound state's children are drawn as their own boxes, named by path). */
function leaves(root: ChartState): ChartState[] {
  const out: ChartState[] = [];
  const walk = (s: ChartState) => {
    if (s.States.length === 0) out.push(s);
    else for (const c of s.States) walk(c);
  };
  for (const s of root.States) walk(s);
  return out;
}

function edgesOf(root: ChartState): Edge[] {
  const byPair = new Map<string, Edge>();
  const walk = (s: ChartState) => {
    for (const t of s.Transitions) {
      for (const target of t.Targets) {
        if (target === s.Path || !s.Path) continue;
        const key = `${s.Path}>${target}`;
        const edge = byPair.get(key) ?? { from: s.Path, to: target, events: [] };
        if (!edge.events.includes(t.Event)) edge.events.push(t.Event);
        byPair.set(key, edge);
      }
    }
    for (const c of s.States) walk(c);
  };
  walk(root);
  return [...byPair.values()];
}

export interface Layout {
  nodes: Map<string, { state: ChartState; x: number; y: number }>;
  edges: Edge[];
  width: number;
  height: number;
}

export function layout(root: ChartState): Layout {
  const states = leaves(root);
  const edges = edgesOf(root);
  const layer = new Map<string, number>();
  const initial = states.find((s) => s.Key === root.Initial) ?? states[0];
  if (initial) layer.set(initial.Path, 0);
  const queue = initial ? [initial.Path] : [];
  while (queue.length > 0) {
    const at = queue.shift()!;
    for (const e of edges) {
      if (e.from === at && !layer.has(e.to)) {
        layer.set(e.to, layer.get(at)! + 1);
        queue.push(e.to);
      }
    }
  }
  const deepest = Math.max(0, ...layer.values());
  // Final states sit in the last column, where a reader looks for the end.
  for (const s of states) {
    if (s.Type === 'final') layer.set(s.Path, deepest + 1);
    else if (!layer.has(s.Path)) layer.set(s.Path, deepest);
  }
  const columns = new Map<number, ChartState[]>();
  for (const s of states) {
    const l = layer.get(s.Path)!;
    columns.set(l, [...(columns.get(l) ?? []), s]);
  }
  const nodes: Layout['nodes'] = new Map();
  let rows = 0;
  const order = [...columns.keys()].sort((a, b) => a - b);
  order.forEach((l, index) => {
    const list = columns.get(l)!;
    rows = Math.max(rows, list.length);
    list.forEach((state, i) => {
      nodes.set(state.Path, { state, x: PAD + index * COL, y: PAD + i * ROW });
    });
  });
  return {
    nodes,
    edges,
    width: PAD * 2 + (order.length - 1) * COL + W,
    height: PAD * 2 + (rows - 1) * ROW + H + 30,
  };
}

function edgePath(a: { x: number; y: number }, b: { x: number; y: number }): string {
  if (b.x > a.x) {
    const x1 = a.x + W;
    const y1 = a.y + H / 2;
    const x2 = b.x;
    const y2 = b.y + H / 2;
    const mid = (x1 + x2) / 2;
    return `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`;
  }
  if (b.x === a.x) {
    // Same column: around the right side.
    const x = a.x + W;
    const bend = x + 22;
    return `M${x},${a.y + H / 2 + 6} C${bend},${a.y + H / 2 + 6} ${bend},${b.y + H / 2 - 6} ${x},${b.y + H / 2 - 6}`;
  }
  // Backwards: under both boxes.
  const x1 = a.x + W / 2 - 10;
  const y1 = a.y + H;
  const x2 = b.x + W / 2 + 10;
  const y2 = b.y + H;
  const low = Math.max(y1, y2) + 26;
  return `M${x1},${y1} C${x1},${low} ${x2},${low} ${x2},${y2}`;
}

export interface Path {
  /** States visited, in order (repeats kept). */
  visited: string[];
  current: string | null;
  /** `from>to` pairs taken. */
  taken: Set<string>;
}

export function Statechart({ name, root, path }: { name: string; root: ChartState; path: Path }) {
  const chart = layout(root);
  const visited = new Set(path.visited);
  const description = path.current
    ? `${name} machine, in state ${path.current}; went through ${path.visited.join(', ')}`
    : `${name} machine; this call has not entered it yet at this revision`;
  const marker = `arrow-${name.replace(/[^A-Za-z0-9]/g, '-')}`;
  return html`<figure class="statechart">
    <svg
      role="img"
      aria-label=${description}
      data-machine=${name}
      viewBox=${`0 0 ${chart.width} ${chart.height}`}
      width=${chart.width}
      height=${chart.height}
    >
      <defs>
        <marker
          id=${marker}
          viewBox="0 0 10 10"
          refX="9"
          refY="5"
          markerUnits="userSpaceOnUse"
          markerWidth="9"
          markerHeight="9"
          orient="auto-start-reverse"
        >
          <path d="M0,0 L10,5 L0,10 z" fill="context-stroke" />
        </marker>
      </defs>
      ${chart.edges.map((e) => {
        const a = chart.nodes.get(e.from);
        const b = chart.nodes.get(e.to);
        if (!a || !b) return null;
        const taken = path.taken.has(`${e.from}>${e.to}`);
        return html`<path class=${`edge${taken ? ' taken' : ''}`} d=${edgePath(a, b)} marker-end=${`url(#${marker})`}>
          <title>${e.from} → ${e.to}: ${e.events.join(', ')}</title>
        </path>`;
      })}
      ${[...chart.nodes.values()].map(({ state, x, y }) => {
        const current = path.current === state.Path;
        const cls = `state${visited.has(state.Path) ? ' visited' : ''}${current ? ' current' : ''}${state.Type === 'final' ? ' final' : ''}`;
        return html`<g class=${cls} data-state=${state.Path} transform=${`translate(${x},${y})`}>
          <rect width=${W} height=${H} rx="8" />
          ${state.Type === 'final' ? html`<rect class="inner" x="3" y="3" width=${W - 6} height=${H - 6} rx="6" />` : null}
          ${state.Key === root.Initial ? html`<circle cx="-8" cy=${H / 2} r="4" class="initial" />` : null}
          <text x=${W / 2} y=${H / 2 + 4} text-anchor="middle">${state.Key}</text>
        </g>`;
      })}
    </svg>
    <figcaption>
      <strong>${name}</strong>
      ${path.current ? html` — now <span class="current-state">${path.current}</span>; path: ${path.visited.join(' → ')}` : ' — not entered yet'}
    </figcaption>
  </figure>`;
}
