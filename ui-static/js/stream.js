// The server's application event stream (Server-Sent Events). Each message
// is {result: {type: ADDED|MODIFIED|DELETED, application}} (Argo CD's
// shape; a bare {type, application} is accepted too). EventSource
// reconnects by itself and resumes from the last event id.
export function appStream({name, onEvent, onState}) {
  const url = `/api/v1/stream/applications${name ? `?name=${encodeURIComponent(name)}` : ''}`;
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
