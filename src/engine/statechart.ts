/**
 * The call and transfer machines' structure, read from their own definitions (xstate's state nodes),
 * so a picture of them can never drift from the code: states (nested), initial and final states, and
 * every transition with its event and targets.
 */
import type { AnyStateMachine, AnyStateNode } from 'xstate';
import { callMachine } from '../../machines/call/call.machine.ts';
import { transferMachine } from '../../machines/transfer/transfer.machine.ts';

export interface ChartTransition {
  /** The event type; `always` for eventless, `after <ms>` for delayed ones. */
  event: string;
  /** Dotted paths of the target states (none for a self-handled event). */
  targets: string[];
  guarded: boolean;
}

export interface ChartState {
  /** Dotted path from the root, e.g. `active.bridged`; the root's is ''. */
  path: string;
  key: string;
  type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  initial: string | null;
  states: ChartState[];
  transitions: ChartTransition[];
}

export interface Statechart {
  name: string;
  id: string;
  root: ChartState;
}

const pathOf = (node: AnyStateNode) => node.path.join('.');

function transitionsOf(node: AnyStateNode): ChartTransition[] {
  const out: ChartTransition[] = [];
  for (const [event, list] of node.transitions) {
    for (const t of list) {
      out.push({
        event: event.startsWith('xstate.after') ? `after ${event.split('.')[2] ?? ''}` : event,
        targets: (t.target ?? []).map(pathOf),
        guarded: t.guard !== undefined,
      });
    }
  }
  for (const t of node.always ?? []) {
    out.push({ event: 'always', targets: (t.target ?? []).map(pathOf), guarded: t.guard !== undefined });
  }
  return out;
}

function stateOf(node: AnyStateNode): ChartState {
  const initial = node.initial?.target?.[0];
  return {
    path: pathOf(node),
    key: node.key,
    type: node.type,
    initial: initial ? initial.key : null,
    states: Object.values(node.states as Record<string, AnyStateNode>).map(stateOf),
    transitions: transitionsOf(node),
  };
}

export function statechartOf(name: string, machine: AnyStateMachine): Statechart {
  return { name, id: machine.id, root: stateOf(machine.root) };
}

export function statecharts(): Statechart[] {
  return [statechartOf('call', callMachine), statechartOf('transfer', transferMachine)];
}
