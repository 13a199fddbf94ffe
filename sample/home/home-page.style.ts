/** The page's style sheet, sent inline (its hash is in the Content-Security-Policy). */
export const HOME_PAGE_STYLE = `
:root { color-scheme: light dark; font-family: system-ui, sans-serif; line-height: 1.5; }
body { margin: 0 auto; max-width: 52rem; padding: 1.5rem; }
h1 { font-size: 1.5rem; margin-top: 0; }
h2 { font-size: 1.2rem; margin-top: 2rem; }
form.fields { display: grid; gap: 0.35rem; max-width: 22rem; }
label.check { display: flex; gap: 0.5rem; align-items: center; }
input[type='text'], input[type='password'] { font: inherit; padding: 0.35rem 0.5rem; }
input[aria-invalid='true'] { outline: 2px solid #c62828; }
button { font: inherit; padding: 0.3rem 0.9rem; cursor: pointer; white-space: nowrap; }
.actions { display: flex; flex-wrap: wrap; gap: 0.75rem; align-items: start; }
.hint { font-size: 0.9rem; opacity: 0.8; margin: 0; }
.error { color: #c62828; margin: 0.25rem 0 0; }
.error:empty { display: none; }
.notice { border-left: 4px solid #1565c0; padding: 0.5rem 0.75rem; background: #1565c01a; }
table { border-collapse: collapse; width: 100%; margin-bottom: 1rem; }
th { white-space: nowrap; }
th, td { text-align: left; padding: 0.45rem 0.5rem; border-bottom: 1px solid #8886; vertical-align: top; }
.badge { font-size: 0.8rem; font-weight: 600; padding: 0.05rem 0.45rem; border-radius: 1rem; background: #2e7d32; color: #fff; margin-left: 0.4rem; white-space: nowrap; }
.agent { display: block; font-size: 0.8rem; opacity: 0.7; overflow-wrap: anywhere; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
`;
