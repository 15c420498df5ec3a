// The console's only script: refresh the cluster and jobs pages, and append a job's events as the journal
// streams them (Server-Sent Events); when an iteration or the job ends, reload its page for the new counts and chart.
(function () {
  const main = document.querySelector('main');
  if (main && main.dataset.refresh) {
    setInterval(async function () {
      try {
        const r = await fetch(location.href, {credentials: 'same-origin'});
        if (!r.ok) return;
        const fresh = new DOMParser().parseFromString(await r.text(), 'text/html').querySelector('main');
        if (fresh) main.innerHTML = fresh.innerHTML;
      } catch (e) { /* the node is restarting: try again at the next tick */ }
    }, Number(main.dataset.refresh) * 1000);
  }
  const events = document.getElementById('events');
  if (events && events.dataset.follow) {
    const source = new EventSource(events.dataset.follow);
    source.onmessage = function (m) {
      const e = JSON.parse(m.data);
      const row = events.insertRow(-1);
      [String(e.seq), new Date(e.at_millis).toISOString(), e.event, e.text].forEach(function (text, i) {
        const cell = row.insertCell(-1);
        cell.textContent = text;
        if (i === 3) cell.className = 'text';
      });
      if (e.event === 'IterationCompleted' || e.event === 'JobCompleted' || e.event === 'JobFailed') {
        source.close();
        setTimeout(function () { location.reload(); }, 500);
      }
    };
  }
})();
