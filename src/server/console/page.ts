// The console's page: a plain shell the script (src/dashboard/dashboard.ts, built to dist/dashboard.js)
// fills from the JSON under /api/. No framework, no CDN; charts are inline SVG.

const html = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

export const STYLE = `:root{--ink:#1b1f24;--muted:#59636e;--line:#d8dee4;--ok:#087f23;--bad:#b00020;--bar:#3b6ea8}
*{box-sizing:border-box}body{font:15px/1.45 system-ui,sans-serif;margin:0;color:var(--ink);background:#fff}
header{display:flex;flex-wrap:wrap;gap:.5rem 1.5rem;align-items:center;padding:.8rem 1.2rem;border-bottom:1px solid var(--line)}
header h1{font-size:1.15rem;margin:0}nav{display:flex;flex-wrap:wrap;gap:.2rem}
nav a{padding:.3rem .6rem;border-radius:.4rem;color:var(--ink);text-decoration:none}nav a.on{background:#e8eef5;font-weight:600}
#controls{display:flex;flex-wrap:wrap;gap:.4rem;align-items:center;margin-left:auto}select,input,button{font:inherit;padding:.25rem .45rem}
main{padding:1rem 1.2rem;max-width:80rem}h2{font-size:1.05rem;margin:1.4rem 0 .5rem}
table{border-collapse:collapse;width:100%;display:block;overflow-x:auto}td,th{border-bottom:1px solid var(--line);padding:.3rem .5rem;text-align:left;white-space:nowrap;vertical-align:top}
th{color:var(--muted);font-weight:600}
.kpis{display:flex;flex-wrap:wrap;gap:1rem}.kpi{border:1px solid var(--line);border-radius:.5rem;padding:.6rem .9rem;min-width:9rem}
.kpi b{display:block;font-size:1.5rem}.kpi span{color:var(--muted)}
.verified{color:var(--ok)}.anonymous,.unchecked,.muted{color:var(--muted)}.rejected,.bad_signature,.missing_signature,.expired_signature,.stale_event,.conflict{color:var(--bad)}
svg.chart{width:100%;max-width:56rem;height:auto;touch-action:manipulation}svg.chart rect{fill:var(--bar)}svg.chart rect.column{fill:transparent}
svg.chart rect:focus{outline:none;fill:#1d4f85}svg.chart text{font-size:11px;fill:var(--muted)}svg.chart .grid{stroke:var(--line)}svg.chart .readout{fill:var(--ink);font-size:13px;font-weight:600}
.cut{display:inline-block;max-width:min(30rem,52vw);overflow:hidden;text-overflow:ellipsis;white-space:nowrap;vertical-align:bottom}
.counted{white-space:nowrap}.delta{display:block;color:var(--muted);font-size:.8rem}.tablebox{max-width:100%}button.csv{margin:.4rem 0;font-size:.85rem}
#zone{color:var(--muted);flex-basis:100%;font-size:.8rem}
input[type=search]{width:min(28rem,100%)}
@media (max-width:40rem){header{padding:.6rem .7rem}main{padding:.6rem .7rem}#controls{margin-left:0}.kpi{min-width:0;flex:1 1 40%}.kpi b{font-size:1.2rem}
td,th{padding:.25rem .35rem}.cut{max-width:48vw}}
.bar{display:inline-block;height:.6rem;background:var(--bar);border-radius:.2rem;vertical-align:middle;margin-right:.4rem}
button.danger{color:#fff;background:var(--bad);border:0;border-radius:.3rem;padding:.35rem .8rem}
.error{color:var(--bad)}button.goal{font-size:.8rem;padding:.1rem .4rem}.addgoal{display:flex;gap:.4rem;flex-wrap:wrap}`

/** The console's page, naming the projects it answers about. */
export const page = (projects: string[]) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Signet console</title><style>${STYLE}</style></head>
<body><header><h1>Signet console</h1>
<nav><a href="#overview">Overview</a><a href="#people">People</a><a href="#pages">Pages and events</a><a href="#goals">Goals</a><a href="#security">Security</a><a href="#live">Live</a></nav>
<form id="controls"><label>Project <select id="project">${projects.map((p) => `<option>${html(p)}</option>`).join('')}</select></label>
<label>Period <select id="period"><option value="24h">last 24 hours</option><option value="7d" selected>last 7 days</option><option value="30d">last 30 days</option><option value="custom">from … to …</option></select></label>
<span id="custom" hidden><input type="date" id="from" aria-label="from"> – <input type="date" id="to" aria-label="to"></span></form><small id="zone"></small></header>
<main id="view">loading…</main>
<script src="/dashboard.js"></script></body></html>`
