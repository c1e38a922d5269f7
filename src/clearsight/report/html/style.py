"""The report's look: one inline stylesheet and one inline script, so the file needs nothing from anywhere.

The script only opens the collapsed sections before printing; the print rules below do the rest of the
work of making the report read well on paper.
"""

PRINT_SCRIPT = (
    "window.addEventListener('beforeprint',function(){"
    "document.querySelectorAll('details').forEach(function(d){d.open=true;});});"
)

CSS = """
:root{--ink:#1f2933;--muted:#627d98;--line:#d9e2ec;--bg:#f3f5f9;--navy:#102a43;--accent:#2563eb}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);
font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
a{color:#1d4ed8;text-decoration:none}
a:hover{text-decoration:underline}
code{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#eef2f7;
padding:1px 5px;border-radius:4px;color:#334e68}
.wrap{max-width:1320px;margin:0 auto;padding:0 32px}
header.top{background:linear-gradient(120deg,#0b1f33 0%,#15395e 55%,#1e4f86 100%);color:#fff;
padding:30px 0 26px}
header.top .brand{font-size:12px;letter-spacing:.16em;text-transform:uppercase;color:#9fc2ec;
font-weight:600}
header.top h1{margin:6px 0 10px;font-size:30px;font-weight:700;letter-spacing:-.01em}
header.top .meta{display:flex;flex-wrap:wrap;gap:4px 24px;font-size:13px;color:#d9e6f5}
header.top .meta b{font-weight:600;color:#9fc2ec;margin-right:4px}
nav.toc{position:sticky;top:0;z-index:10;background:#fff;border-bottom:1px solid var(--line);display:flex;
gap:2px;padding:0 32px;overflow-x:auto;box-shadow:0 1px 3px rgba(16,42,67,.06)}
nav.toc a{padding:12px 12px 10px;color:#486581;font-weight:600;font-size:13px;white-space:nowrap;
border-bottom:2px solid transparent}
nav.toc a:hover{color:var(--accent);border-bottom-color:var(--accent);text-decoration:none}
main{max-width:1320px;margin:0 auto;padding:24px 32px 32px}
section{margin:0 0 34px;scroll-margin-top:54px}
h2{font-size:21px;margin:0 0 14px;padding-bottom:8px;border-bottom:2px solid var(--line);
color:var(--navy)}
h3{font-size:15px;margin:0 0 12px;color:var(--navy)}
h4{font-size:13px;margin:16px 0 6px;text-transform:uppercase;letter-spacing:.05em;color:var(--muted)}
.card{background:#fff;border-radius:12px;padding:18px 20px;margin-bottom:16px;border:1px solid #e4e9f0;
box-shadow:0 1px 2px rgba(16,42,67,.05)}
.grid2{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:16px;align-items:start}
.grid2.wide-left{grid-template-columns:minmax(0,1.6fr) minmax(0,1fr)}
.grid2>.card{margin-bottom:0}
.grid2{margin-bottom:16px}
.kpis{display:grid;grid-template-columns:repeat(5,minmax(0,1fr));gap:14px;margin:0 0 26px}
.kpi{background:#fff;border-radius:12px;padding:15px 18px;border:1px solid #e4e9f0;
border-top:4px solid var(--accent);box-shadow:0 1px 2px rgba(16,42,67,.05)}
.kpi .l{font-size:11.5px;text-transform:uppercase;letter-spacing:.07em;color:var(--muted);font-weight:700}
.kpi .v{font-size:32px;font-weight:750;line-height:1.15;margin:4px 0 2px;
font-variant-numeric:tabular-nums}
.kpi .s{font-size:12px;color:var(--muted)}
.k-crit{border-top-color:#c92a2a}
.k-crit .v{color:#c92a2a}
.k-high{border-top-color:#e8590c}
.k-high .v{color:#d9480f}
.k-ok{border-top-color:#2f9e44}
.k-purple{border-top-color:#7048e8}
.k-purple .v{color:#6741d9}
ul.findings{margin:0;padding:0;list-style:none}
ul.findings li{padding:7px 0 7px 22px;position:relative;border-bottom:1px solid #f0f3f7}
ul.findings li:last-child{border-bottom:0}
ul.findings li::before{content:"";position:absolute;left:4px;top:15px;width:8px;height:8px;
border-radius:50%;background:var(--accent)}
.top5 ol{margin:0;padding:0;list-style:none}
.top5 li{padding:6px 0;border-bottom:1px solid #f0f3f7}
.rank{display:inline-block;width:22px;height:22px;border-radius:50%;background:#e8eef6;text-align:center;
font-weight:700;font-size:12px;line-height:22px;margin-right:4px}
ul.plain{margin:0;padding-left:16px}
ul.plain li{margin:1px 0}
ol.plain{margin:0}
.muted{color:var(--muted)}
.small{font-size:12px;color:#486581;margin-top:3px}
.note{background:#f0f6ff;border-left:3px solid var(--accent);padding:8px 12px;border-radius:4px;
color:#334e68;margin:0 0 12px}
table{border-collapse:collapse;width:100%;font-size:13px}
th{text-align:left;font-size:11px;text-transform:uppercase;letter-spacing:.05em;color:var(--muted);
font-weight:700;border-bottom:2px solid var(--line);padding:8px;background:#f8fafc;white-space:nowrap}
td{border-bottom:1px solid #edf1f5;padding:7px 8px;vertical-align:top}
tbody tr:hover td{background:#f8fbff}
.num{text-align:right;font-variant-numeric:tabular-nums}
tr.key td{background:#fff8e1}
tr.key td:first-child{color:#b7791f;font-weight:700}
.b{display:inline-block;padding:1px 9px;border-radius:999px;font-size:11.5px;font-weight:700;
white-space:nowrap;line-height:1.6;border:1px solid transparent;vertical-align:1px}
.sev-critical{background:#c92a2a;color:#fff}
.sev-high{background:#e8590c;color:#fff}
.sev-medium{background:#ffe08a;color:#5c4300}
.sev-low{background:#d3f0da;color:#1b5e2b}
.t-prohibited{background:#3b0a0a;color:#fff}
.t-high-risk{background:#fde2e1;color:#9b1c1c;border-color:#f5b5b3}
.t-limited{background:#fff3c4;color:#7a5a00;border-color:#f5dc8a}
.t-minimal{background:#e3f4e8;color:#1b5e2b;border-color:#b7e0c2}
.t-out-of-scope{background:#eef2f6;color:#486581;border-color:#d9e2ec}
.st-implemented{background:#d3f0da;color:#1b5e2b}
.st-partial{background:#fff0c2;color:#7a5a00}
.st-missing{background:#fde2e1;color:#9b1c1c}
.st-not-applicable{background:#eef2f6;color:#627d98}
.due-now{background:#243b53;color:#fff}
.due-soon{background:#fff0c2;color:#7a5a00}
.shadow{background:#ede7ff;color:#5b21b6;border-color:#d4c5fd}
.dist{display:grid;grid-template-columns:110px 1fr 48px;align-items:center;gap:10px;margin:6px 0;
font-size:13px}
.dbar{height:12px;background:#eef2f6;border-radius:6px;overflow:hidden;display:block}
.dbar span{display:block;height:100%;border-radius:6px;border:0}
.dn{text-align:right;font-weight:700}
.dist+h3{margin-top:20px}
details.sys{background:#fff;border:1px solid #e4e9f0;border-radius:10px;margin-bottom:10px}
details.sys>summary{cursor:pointer;padding:11px 16px;list-style:none;display:flex;flex-wrap:wrap;
align-items:center;gap:8px}
details.sys>summary::-webkit-details-marker{display:none}
details.sys>summary::before{content:"\\25B8";color:var(--muted);display:inline-block;width:12px;
transition:transform .15s}
details.sys[open]>summary::before{transform:rotate(90deg)}
details.sys[open]>summary{border-bottom:1px solid #edf1f5}
.sysname{font-weight:700;font-size:14.5px}
details.sys .body{padding:6px 18px 16px}
details.more>summary{cursor:pointer;color:var(--accent);font-weight:600;padding:10px 0}
dl.facts{display:grid;grid-template-columns:190px 1fr;gap:6px 16px;margin:8px 0}
dl.facts dt{font-weight:600;color:#486581}
dl.facts dd{margin:0}
.scn{border:1px solid #e4e9f0;border-radius:10px;padding:12px 14px;margin:12px 0;background:#fbfcfe}
.scn-h{display:flex;flex-wrap:wrap;align-items:center;gap:8px}
.scn p{margin:6px 0}
ol.chain{display:flex;flex-wrap:wrap;gap:8px 26px;list-style:none;padding:0;margin:10px 0}
ol.chain li{position:relative;display:flex;flex-direction:column;background:#eaf1ff;
border:1px solid #c5d6fb;border-radius:8px;padding:5px 11px;min-width:120px;max-width:230px}
ol.chain li:not(:last-child)::after{content:"\\2192";position:absolute;right:-20px;top:50%;
transform:translateY(-50%);color:#829ab1;font-weight:700}
ol.chain li.goal{background:#fde8e7;border-color:#f2b8b5}
ol.chain .tac{font-size:10px;text-transform:uppercase;letter-spacing:.06em;color:var(--muted);
font-weight:700}
ol.chain a{font-weight:600;font-size:13px;color:#102a43}
ol.chain .tid{font-size:10.5px;color:#829ab1}
.cs,.goalline{font-size:13px}
table.gaps th:nth-child(1){width:26%}
table.gaps th:nth-child(4){width:26%}
table.gaps th:nth-child(5){width:30%}
.scroll{overflow-x:auto}
.chartbox svg{max-width:100%;height:auto;display:block}
.scroll svg{display:block}
.chips{display:flex;flex-wrap:wrap;gap:8px}
.chip{background:#fff8e1;border:1px solid #f3d37a;color:#7a5a00;padding:4px 11px;border-radius:999px;
font-size:12.5px;font-weight:600}
.capacity{display:flex;align-items:center;gap:14px;margin:0 0 12px;font-size:13px;color:#486581}
.meter{flex:0 0 260px;height:10px;background:#e6ebf1;border-radius:5px;overflow:hidden}
.meter span{display:block;height:100%;background:#2f9e44}
.meter.over span{background:#c92a2a}
.phase.p1{border-left:4px solid #c92a2a}
.phase.p2{border-left:4px solid #e8590c}
.phase.p3{border-left:4px solid #e6a700}
footer{background:#102a43;color:#d9e2ec;padding:28px 0 34px;margin-top:20px}
footer h2{color:#fff;border-bottom-color:#243b53}
footer table{color:#d9e2ec}
footer th{background:#18344f;color:#9fb3c8;border-bottom-color:#243b53}
footer td{border-bottom-color:#1f3a56}
footer tbody tr:hover td{background:#15304a}
footer code{background:#1f3a56;color:#d9e2ec}
footer dl.facts dt{color:#9fb3c8}
footer .src{word-break:break-all;font-size:12px}
.fine{font-size:12px;color:#9fb3c8;margin-top:18px}
@media (max-width:1000px){.kpis{grid-template-columns:repeat(2,minmax(0,1fr))}
.grid2,.grid2.wide-left{grid-template-columns:minmax(0,1fr)}
main{padding:16px}
}
@media print{*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
body{background:#fff;font-size:11.5px}
nav.toc{display:none}
header.top{padding:16px 0}
main{padding:12px 0;max-width:none}
.card,details.sys,.kpi{box-shadow:none;break-inside:avoid}
details.sys{break-inside:auto}
tr,.scn{break-inside:avoid}
h2{break-after:avoid}
section{break-before:auto}
.scroll{overflow:visible}
.scroll svg{max-width:100%;height:auto}
details::details-content{content-visibility:visible;display:block}
details.sys>summary::before{content:""}
a{color:inherit}
footer{background:#fff;color:var(--ink)}
footer h2{color:var(--navy)}
footer table{color:var(--ink)}
footer th{background:#f8fafc;color:var(--muted)}
footer code{background:#eef2f7;color:#334e68}
}
"""
