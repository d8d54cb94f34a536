/** The Merge panel's HTML: a strict Content-Security-Policy with a fresh crypto nonce for each load. */
import { randomBytes } from "node:crypto";
import * as vscode from "vscode";

export function panelHtml(webview: vscode.Webview, extensionUri: vscode.Uri): string {
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
<title>Merge Models</title>
</head>
<body>
<main id="model-soup-panel" aria-live="polite"><p>Loading…</p></main>
<script nonce="${nonce}" src="${asset("dist", "webview.js")}"></script>
</body>
</html>`;
}
