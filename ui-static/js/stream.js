// The server's application event stream (Server-Sent Events). Each message
// is {result: {type: ADDED|MODIFIED|DELETED, application}} (Argo CD's
// shape; a bare {type, application} is accepted too). EventSource
// reconnects by itself and resumes from the last event id. A caller that
// has listed the apps passes the list's metadata.resourceVersion and gets
// only what changed after it (no snapshot of every app).
export function appStream({name, resourceVersion, onEvent, onState}) {
  const q = new URLSearchParams();
  if (name) q.set('name', name);
  if (resourceVersion) q.set('resourceVersion', resourceVersion);
  const qs = q.toString();
  const url = `/api/v1/stream/applications${qs ? `?${qs}` : ''}`;
  const es = new EventSource(url, {withCredentials: true});
  es.onopen = () => onState && onState('open');
  es.onerror = () => onState && onState('error');
  es.onmessage = (m) => {
    let d;
    try { d = JSON.parse(m.data); } catch { return; }
    const ev = d.result || d;
    if (!ev || !ev.application) return;
    if (name && ev.application.metadata?.name !== name) return;
    onEvent(ev.type, ev.application);
  };
  return {close: () => es.close()};
}
