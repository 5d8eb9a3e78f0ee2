// Sync and health status shown as icon + word, never by colour alone.
import {h} from './dom.js';

const HEALTH = {
  Healthy: ['♥', 'ok'], Progressing: ['◔', 'info'], Degraded: ['✖', 'bad'],
  Suspended: ['⏸', 'warn'], Missing: ['?', 'warn'], Unknown: ['?', 'muted'],
};
const SYNC = {
  Synced: ['✔', 'ok'], OutOfSync: ['⚠', 'warn'], Unknown: ['?', 'muted'],
};
const PHASE = {
  Succeeded: ['✔', 'ok'], Running: ['↻', 'info'], Terminating: ['↻', 'info'],
  Failed: ['✖', 'bad'], Error: ['✖', 'bad'],
};

export const HEALTH_VALUES = Object.keys(HEALTH);
export const SYNC_VALUES = Object.keys(SYNC);

export function healthOf(app) { return app?.status?.health?.status || 'Unknown'; }
export function syncOf(app) { return app?.status?.sync?.status || 'Unknown'; }

function badge(map, value, kind) {
  const v = value || 'Unknown';
  const [icon, tone] = map[v] || ['•', 'muted'];
  return h('span', {class: ['badge', `tone-${tone}`], 'data-status': v, title: `${kind}: ${v}`},
    h('span', {class: 'icon', 'aria-hidden': 'true'}, icon), ' ', v);
}

export const healthBadge = (v) => badge(HEALTH, v, 'Health');
export const syncBadge = (v) => badge(SYNC, v, 'Sync');
export const phaseBadge = (v) => badge(PHASE, v, 'Operation');

export function toneOf(kind, value) {
  const map = kind === 'health' ? HEALTH : kind === 'sync' ? SYNC : PHASE;
  return (map[value] || ['•', 'muted'])[1];
}
export function iconOf(kind, value) {
  const map = kind === 'health' ? HEALTH : kind === 'sync' ? SYNC : PHASE;
  return (map[value] || ['•', 'muted'])[0];
}
