// Messages between learn-ipc.test.ts and its child process, ipc-learner.ts.
import { NotificationType, RequestType } from "vscode-jsonrpc";

export const learnRequest = new RequestType<{ epochs: number }, { steps: number }, void>("test/learn");
export const stepNotification = new NotificationType<{ step: number }>("test/step");
/** ResponseError code of a cancelled run. */
export const CANCELLED = 1;
