"""The report's stylesheet: every rule scoped to its container ``.tabsynth-report``.

No rule targets ``:root``, ``body``, ``html`` or ``*`` at top level, so the report can sit in a
notebook or another page without restyling it.
"""

CSS = """
.tabsynth-report{--ink:#1d2430;--muted:#5b6472;--line:#dde2ea;--pass:#1a7f37;--fail:#c62828;
--nr:#8a6d00;box-sizing:border-box;font-family:-apple-system,"Segoe UI",Roboto,"Helvetica Neue",
Arial,sans-serif;color:var(--ink);line-height:1.45;font-size:15px;background:#fff;padding:8px 0}
.tabsynth-report *{box-sizing:border-box}
.tabsynth-report.page{max-width:1120px;margin:0 auto;padding:24px 28px 48px;min-height:100vh}
.tabsynth-report h1{font-size:22px;margin:0 0 4px}
.tabsynth-report h2{font-size:18px;margin:36px 0 10px;padding-bottom:6px;
border-bottom:2px solid var(--line)}
.tabsynth-report h3{font-size:15px;margin:20px 0 8px}
.tabsynth-report p.lead{color:var(--muted);margin:0 0 18px}
.tabsynth-report .banner{border-radius:10px;padding:18px 22px;margin:10px 0 22px;color:#fff;
display:flex;align-items:center;gap:18px}
.tabsynth-report .banner.pass{background:var(--pass)}
.tabsynth-report .banner.fail{background:var(--fail)}
.tabsynth-report .banner .big{font-size:30px;font-weight:700;letter-spacing:.5px}
.tabsynth-report .banner .txt{font-size:15px;opacity:.95}
.tabsynth-report .form{border:2px dashed #8a6d00;background:#fff8e1;color:#5c4a00;
border-radius:8px;padding:8px 14px;margin:8px 0 4px;font-size:14px}
.tabsynth-report .form.release{border-color:#1f6feb;background:#eef6ff;color:#123a75}
.tabsynth-report table{border-collapse:collapse;width:100%;margin:6px 0 14px;font-size:14px}
.tabsynth-report th,.tabsynth-report td{text-align:left;padding:7px 9px;
border-bottom:1px solid var(--line);vertical-align:top}
.tabsynth-report tr.grp td{font-weight:700;font-size:12px;text-transform:uppercase;
letter-spacing:.6px;color:var(--muted);padding-top:14px;background:#fafbfd}
.tabsynth-report th{background:#eef2f7;font-weight:600;font-size:13px;color:#333}
.tabsynth-report td.num{font-variant-numeric:tabular-nums;white-space:nowrap}
.tabsynth-report .badge{display:inline-block;min-width:64px;white-space:nowrap;text-align:center;
border-radius:12px;padding:2px 9px;font-size:12px;font-weight:700;color:#fff}
.tabsynth-report .badge.PASS{background:var(--pass)}
.tabsynth-report .badge.FAIL{background:var(--fail)}
.tabsynth-report .badge.NOTRUN{background:#e9e3c8;color:#5c4a00}
.tabsynth-report .muted{color:var(--muted);font-size:13px}
.tabsynth-report .grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(330px,1fr));
gap:10px}
.tabsynth-report .grid img{width:100%;border:1px solid var(--line);border-radius:6px;
background:#fff}
.tabsynth-report img.wide{max-width:720px;width:100%;border:1px solid var(--line);
border-radius:6px}
.tabsynth-report .note{background:#fff8e1;border-left:4px solid #f0b400;padding:8px 12px;
margin:8px 0;font-size:14px}
.tabsynth-report .dp{background:#eef6ff;border-left:4px solid #1f6feb;padding:10px 14px;
margin:8px 0}
.tabsynth-report .dp.void{background:#fdecea;border-left-color:var(--fail)}
.tabsynth-report code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;
word-break:break-all}
.tabsynth-report .signoff td{height:38px}
.tabsynth-report .signoff td.blank{border-bottom:1px solid #999;width:70%}
.tabsynth-report footer{margin-top:30px;color:var(--muted);font-size:12px}
.tabsynth-report .page-one{border-bottom:2px solid var(--line);padding-bottom:12px}
.tabsynth-report .cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));
gap:14px;margin:6px 0 4px}
.tabsynth-report .card{border:1px solid var(--line);border-radius:8px;padding:4px 14px 8px}
.tabsynth-report .card h3{margin-top:10px}
.tabsynth-report table.kv th{width:28%;background:none;color:var(--muted)}
.tabsynth-report .sentence{font-size:15px}
.tabsynth-report p.ok{color:var(--pass);font-weight:600}
.tabsynth-report p.bad{color:var(--fail);font-weight:600}
.tabsynth-report td.big-num{font-size:17px;font-weight:700}
.tabsynth-report img.rare{max-width:100%;border:1px solid var(--line);border-radius:6px}
"""
