/**
 * Where a test harness may stop the daemon with a message in hand (the chaos harness's
 * `connector_kill`, RELIABILITY.md). The daemon only reports that it got there; what happens
 * then is the harness's, injected through `startConnector`'s deps. The default does nothing.
 *
 * - `before_commit`: a deliver frame arrived; nothing of it is in the inbox yet.
 * - `after_commit`: the batch is committed to the inbox; its ack is not sent yet.
 * - `after_ack`: an inbox item is about to go to the agent's hook (whether its ack frame has
 *   gone out already is what `ackSent` tells: acks may wait a few ms to go in bulk).
 */
export type StopPoint = "before_commit" | "after_commit" | "after_ack";

export interface StopPointItem {
  kind: string;
  id: string;
}

export interface StopPoints {
  /**
   * The daemon is at `point` holding `items`. `hookCallsInFlight` names the inbox items whose
   * webhook call is under way at that moment (a stop then may make them go to the hook again).
   */
  reached(point: StopPoint, items: readonly StopPointItem[], hookCallsInFlight: () => readonly string[]): void;
  /** An ack frame for these ids is being written to the relay socket. */
  ackSent(ids: readonly string[]): void;
}

export const noStopPoints: StopPoints = {
  reached: () => undefined,
  ackSent: () => undefined,
};
