/**
 * The HTML report's style sheet: one inline <style>, allowed by its hash in the page's Content-Security-Policy.
 * Light and dark from prefers-color-scheme (both AA contrast), print on A4 or Letter (the page's own size, 12 mm
 * margins, every dialogue unfolded), long server lines wrapped anywhere. Colour only underlines what the words
 * and ✓/✗ already say.
 */
export const htmlStyle = `
:root{color-scheme:light dark;--bg:#fff;--fg:#1b1b1b;--muted:#4a4a4a;--line:#c8c8c8;--soft:#f3f3f3;
--ok:#146c2e;--bad:#b00020;--warn:#7a4d00;--link:#0b57d0}
@media (prefers-color-scheme:dark){:root{--bg:#121212;--fg:#ececec;--muted:#c2c2c2;--line:#4a4a4a;
--soft:#1e1e1e;--ok:#7ddc8f;--bad:#ff8a8a;--warn:#ffc562;--link:#9cc2ff}}
*{box-sizing:border-box}
html{background:var(--bg);color:var(--fg)}
body{margin:0 auto;max-width:72rem;padding:1rem;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
a{color:var(--link)}
h1{font-size:1.45rem;margin:.2rem 0 .6rem;overflow-wrap:anywhere}
h2{font-size:1.2rem;margin:1.6rem 0 .5rem;border-bottom:1px solid var(--line);padding-bottom:.2rem}
h3{font-size:1.05rem;margin:1rem 0 .4rem;overflow-wrap:anywhere}
p,li,dd,summary,pre,.long{overflow-wrap:anywhere}
td,th{overflow-wrap:break-word}.nw{white-space:nowrap}
code,pre,.mono{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:.88em}
pre{white-space:pre-wrap;background:var(--soft);border:1px solid var(--line);padding:.5rem;margin:.3rem 0;max-width:100%}
.answer{border:2px solid var(--line);border-radius:6px;padding:.6rem .9rem;margin:.6rem 0}
.answer p{margin:.25rem 0}
.verdict{font-size:1.15rem;font-weight:600}
.ok{color:var(--ok)}.bad{color:var(--bad)}.warn{color:var(--warn)}.muted{color:var(--muted)}
.answer.passed{border-color:var(--ok)}.answer.failed{border-color:var(--bad)}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;width:100%;margin:.4rem 0}
th,td{border:1px solid var(--line);padding:.3rem .45rem;text-align:left;vertical-align:top}
th{background:var(--soft)}
caption{text-align:left;padding:.2rem 0}
.finding{border-left:4px solid var(--line);padding:.2rem .8rem;margin:.8rem 0}
.finding.sev-critical,.finding.sev-high{border-left-color:var(--bad)}
.finding.sev-medium{border-left-color:var(--warn)}
.finding h3{margin:.2rem 0}
.sev{font-weight:700;text-transform:uppercase;font-size:.8em;letter-spacing:.04em}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.15rem .8rem;margin:.4rem 0}
dt{font-weight:600}dd{margin:0}
details{border:1px solid var(--line);border-radius:4px;margin:.4rem 0;padding:.2rem .5rem}
summary{cursor:pointer;font-weight:600}
.t-S{color:var(--fg)}.t-C{color:var(--link)}.t-n{color:var(--muted)}
form{display:flex;flex-wrap:wrap;gap:.6rem;align-items:end;margin:.8rem 0}
label{display:flex;flex-direction:column;font-weight:600;gap:.2rem}
input,select,button{font:inherit;padding:.35rem .5rem;color:var(--fg);background:var(--bg);border:1px solid var(--muted);border-radius:4px}
button{cursor:pointer;font-weight:600}
@media (max-width:40rem){body{padding:.6rem;font-size:14px}th,td{padding:.25rem .3rem}.wide{display:none}
table.ports tr{display:grid;grid-template-columns:3.3rem minmax(0,1fr) minmax(6.6rem,1fr) 3.7rem 3.7rem}table.ports th{white-space:nowrap}
table.ports tr>:last-child{grid-column:1/-1;border-top:0}table.ports tbody tr{margin-top:.35rem}}
@page{margin:12mm}
@media print{html,body{background:#fff;color:#000}body{max-width:none;padding:0;font-size:10pt}
:root{--fg:#000;--muted:#333;--line:#999;--soft:#f2f2f2;--ok:#0b5d1e;--bad:#a00018;--warn:#6b4400;--link:#0b57d0}
.wide{display:table-cell}details{border:0;padding:0}details::details-content{content-visibility:visible;display:block}
details>*{display:block}summary{list-style:none}h2{break-after:avoid}.finding,tr{break-inside:avoid}
.noprint{display:none}}
`;
