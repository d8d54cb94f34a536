/**
 * The host's end of a webview that is not kept alive while hidden (no retainContextWhenHidden): VS Code throws
 * its page away when it is hidden and loads it afresh when shown. A message posted while no page listens is
 * either dropped or queued for the next page, which then receives it before its "init" (and used to treat it
 * as applying to a panel it had not built yet, staying at "Loading…"). So messages go out only between the
 * page's "ready" and the panel going out of sight; the "init" answering the next "ready" carries everything.
 */
export class WebviewLink<T> {
  private listening = false;

  constructor(private readonly send: (message: T) => PromiseLike<boolean>) {}

  /** Whether a page is listening now. */
  get ready(): boolean {
    return this.listening;
  }

  /** The page said "ready": it listens from now on. */
  opened(): void {
    this.listening = true;
  }

  /** The panel went out of sight: its page is gone, the next one starts over with "ready". */
  lost(): void {
    this.listening = false;
  }

  /** Sends to the listening page; resolves false (nothing sent) when none listens. */
  post(message: T): PromiseLike<boolean> {
    return this.listening ? this.send(message) : Promise.resolve(false);
  }
}
