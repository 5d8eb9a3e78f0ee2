// Manifests for people: a small YAML emitter, Secret masking, a line diff
// (longest common subsequence) laid out side by side, and the server's
// unified diff laid out the same way.

const MASK = '********';

// A copy of obj with every value under a Secret's data/stringData replaced.
export function maskSecret(obj) {
  if (!obj || typeof obj !== 'object' || obj.kind !== 'Secret') return obj;
  const copy = JSON.parse(JSON.stringify(obj));
  for (const key of ['data', 'stringData']) {
    if (copy[key] && typeof copy[key] === 'object') {
      for (const k of Object.keys(copy[key])) copy[key][k] = MASK;
    }
  }
  const ann = copy.metadata?.annotations;
  if (ann && ann['kubectl.kubernetes.io/last-applied-configuration']) {
    ann['kubectl.kubernetes.io/last-applied-configuration'] = MASK;
  }
  return copy;
}

export function parseState(s) {
  if (s === null || s === undefined || s === '' || s === 'null') return null;
  if (typeof s === 'object') return s;
  try { return JSON.parse(s); } catch { return null; }
}

function scalar(v) {
  if (v === null) return 'null';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  const str = String(v);
  if (str === '' || /^[\s]|[\s]$|[:#{}[\],&*!|>'"%@`]|^(true|false|yes|no|on|off|null|~|[-+.\d].*)$/i.test(str)) {
    return JSON.stringify(str);
  }
  return str;
}

function emit(v, indent, out) {
  const pad = '  '.repeat(indent);
  if (Array.isArray(v)) {
    if (!v.length) { out.push(`${pad}[]`); return; }
    for (const item of v) {
      if (item && typeof item === 'object' && Object.keys(item).length) {
        const sub = [];
        emit(item, indent + 1, sub);
        sub[0] = `${pad}- ${sub[0].trimStart()}`;
        out.push(...sub);
      } else {
        out.push(`${pad}- ${scalarOrEmpty(item)}`);
      }
    }
    return;
  }
  if (v && typeof v === 'object') {
    const keys = Object.keys(v);
    if (!keys.length) { out.push(`${pad}{}`); return; }
    for (const k of keys) {
      const val = v[k];
      if (val && typeof val === 'object' && (Array.isArray(val) ? val.length : Object.keys(val).length)) {
        out.push(`${pad}${scalar(k)}:`);
        emit(val, Array.isArray(val) ? indent : indent + 1, out);
      } else if (typeof val === 'string' && val.includes('\n')) {
        out.push(`${pad}${scalar(k)}: |`);
        for (const line of val.replace(/\n$/, '').split('\n')) out.push(`${pad}  ${line}`);
      } else {
        out.push(`${pad}${scalar(k)}: ${scalarOrEmpty(val)}`);
      }
    }
    return;
  }
  out.push(`${pad}${scalar(v)}`);
}

function scalarOrEmpty(v) {
  if (Array.isArray(v)) return '[]';
  if (v && typeof v === 'object') return '{}';
  return scalar(v);
}

export function toYaml(obj) {
  if (obj === null || obj === undefined) return '';
  const out = [];
  emit(obj, 0, out);
  return out.join('\n') + '\n';
}

// Pairs a run of removed lines with the run of added lines after it.
function pairRuns(rows, dels, adds) {
  const k = Math.max(dels.length, adds.length);
  for (let t = 0; t < k; t++) {
    const l = dels[t], r = adds[t];
    rows.push({left: l ?? null, right: r ?? null, op: l !== undefined && r !== undefined ? 'chg' : l !== undefined ? 'del' : 'add'});
  }
  dels.length = 0; adds.length = 0;
}

// Rows for a side-by-side view of a unified diff (the API server's masked
// "--- live / +++ desired" text): the same {left, right, op} rows as
// sideBySide, plus {op: 'gap', left: '@@ … @@'} where a hunk starts. Only
// the first character of a line says what it is, so masked Secret values
// (runs of '+') inside a line are content, and the file header is read
// only before the first hunk.
export function unifiedRows(text) {
  const rows = [];
  const dels = [], adds = [];
  let inHunk = false;
  for (const line of String(text || '').replace(/\n$/, '').split('\n')) {
    if (line.startsWith('@@')) {
      pairRuns(rows, dels, adds);
      rows.push({left: line, right: line, op: 'gap'});
      inHunk = true;
    } else if (!inHunk) {
      continue; // "--- live", "+++ desired", or nothing before the first hunk
    } else if (line[0] === '-') {
      dels.push(line.slice(1));
    } else if (line[0] === '+') {
      adds.push(line.slice(1));
    } else if (line[0] === '\\') {
      continue; // "\ No newline at end of file"
    } else {
      pairRuns(rows, dels, adds);
      rows.push({left: line.slice(1), right: line.slice(1), op: 'same'});
    }
  }
  pairRuns(rows, dels, adds);
  return rows;
}

// Rows for a side-by-side diff: {left, right, op} with op one of
// 'same', 'del' (left only), 'add' (right only), 'chg' (both, different).
export function sideBySide(a, b) {
  const x = a ? a.replace(/\n$/, '').split('\n') : [];
  const y = b ? b.replace(/\n$/, '').split('\n') : [];
  const n = x.length, m = y.length;
  // LCS table; manifests are small (bounded to a few thousand lines).
  if (n * m > 4e6) return x.map((l, i) => ({left: l, right: y[i] ?? '', op: l === y[i] ? 'same' : 'chg'}));
  const dp = Array.from({length: n + 1}, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      dp[i][j] = x[i] === y[j] ? dp[i + 1][j + 1] + 1 : Math.max(dp[i + 1][j], dp[i][j + 1]);
    }
  }
  const rows = [];
  let i = 0, j = 0;
  const dels = [], adds = [];
  const flush = () => pairRuns(rows, dels, adds);
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) { flush(); rows.push({left: x[i], right: y[j], op: 'same'}); i++; j++; }
    else if (j < m && (i >= n || dp[i][j + 1] >= dp[i + 1][j])) { adds.push(y[j++]); }
    else { dels.push(x[i++]); }
  }
  flush();
  return rows;
}
