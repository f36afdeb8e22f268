/** One log event, whichever API delivered it. */
export interface LogEvent {
  timestamp: number;
  message: string;
  logStream: string;
  /** FilterLogEvents gives every event an id; Live Tail does not. */
  eventId?: string;
  ingestionTime?: number;
}

interface SdkEvent {
  timestamp?: number;
  message?: string;
  logStreamName?: string;
  eventId?: string;
  ingestionTime?: number;
}

export function toLogEvent(event: SdkEvent): LogEvent {
  return {
    timestamp: event.timestamp ?? event.ingestionTime ?? 0,
    message: event.message ?? "",
    logStream: event.logStreamName ?? "",
    ...(event.eventId ? { eventId: event.eventId } : {}),
    ...(event.ingestionTime !== undefined ? { ingestionTime: event.ingestionTime } : {}),
  };
}

/** Oldest first; ties keep their order (the APIs deliver a stream's lines in order). */
export function byTime(a: LogEvent, b: LogEvent): number {
  return a.timestamp - b.timestamp;
}

function contentKey(event: LogEvent): string {
  return `${event.logStream}\u0000${event.timestamp}\u0000${event.message}`;
}

/**
 * The events already printed, so overlapping reads (each poll re-reads a few seconds; a resumed
 * Live Tail session is back-filled from before it started) print each event once.
 *
 * Events with an id (FilterLogEvents) are matched by id, so two identical lines logged in the
 * same millisecond both print. Live Tail events have no id: they are matched by stream,
 * timestamp and text, and an event seen that way also hides the same event coming back with an id.
 */
export class SeenEvents {
  private readonly ids = new Map<string, number>();
  private readonly contents = new Map<string, number>();
  private readonly idlessContents = new Map<string, number>();

  /** Records the event; false when it was seen before. */
  add(event: LogEvent): boolean {
    const key = contentKey(event);
    if (event.eventId) {
      if (this.ids.has(event.eventId) || this.idlessContents.has(key)) return false;
      this.ids.set(event.eventId, event.timestamp);
      this.contents.set(key, event.timestamp);
      return true;
    }
    if (this.contents.has(key) || this.idlessContents.has(key)) return false;
    this.idlessContents.set(key, event.timestamp);
    return true;
  }

  /** Forgets events older than `timestamp`: no later read reaches back that far. */
  forgetBefore(timestamp: number): void {
    for (const map of [this.ids, this.contents, this.idlessContents]) {
      for (const [key, time] of map) if (time < timestamp) map.delete(key);
    }
  }

  get size(): number {
    return this.ids.size + this.idlessContents.size;
  }
}
