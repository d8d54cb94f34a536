/** The webviews' HTML (Merge panel, model viewer): a strict Content-Security-Policy with a fresh crypto nonce per load. */
import { randomBytes } from "node:crypto";
import * as vscode from "vscode";

export interface WebviewPage {
  title: string;
  /** The id of the element the script renders into. */
  rootId: string;
  /** The bundle under dist/. */
  script: string;
  /** Further style sheets under media/, after panel.css. */
  styles?: string[];
}

const MERGE_PANEL: WebviewPage = { title: "Merge Models", rootId: "model-soup-panel", script: "webview.js" };

export function panelHtml(webview: vscode.Webview, extensionUri: vscode.Uri, page: WebviewPage = MERGE_PANEL): string {
  const nonce = randomBytes(16).toString("base64");
  const asset = (...path: string[]) => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, ...path)).toString();
  const csp = [
    "default-src 'none'",
    `img-src ${webview.cspSource} data:`,
    `font-src ${webview.cspSource}`,
    `style-src ${webview.cspSource} 'nonce-${nonce}'`,
    `script-src 'nonce-${nonce}'`,
  ].join("; ");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" nonce="${nonce}" href="${asset("dist", "uPlot.min.css")}">
<link rel="stylesheet" nonce="${nonce}" href="${asset("media", "panel.css")}">
${(page.styles ?? []).map((s) => `<link rel="stylesheet" nonce="${nonce}" href="${asset("media", s)}">\n`).join("")}<title>${page.title}</title>
</head>
<body>
<main id="${page.rootId}" aria-live="polite"><p>Loading…</p></main>
<script nonce="${nonce}" src="${asset("dist", page.script)}"></script>
</body>
</html>`;
}
