/**
 * One event, shaped as podman's libpod/events.Event serializes to JSON
 * (`podman events --format json`): empty fields are left out.
 */
export type EventType = 'container' | 'image' | 'volume' | 'network' | 'pod' | 'system';

export interface SkiffEvent {
  ContainerExitCode?: number;
  ID?: string;
  Image?: string;
  Name?: string;
  Network?: string;
  Status: string;
  /** RFC 3339 with nanoseconds, UTC. */
  Time: string;
  Type: EventType;
  Attributes?: Record<string, string>;
}

/** What a service passes to emit(); Time is added by the log. */
export type EventInput = Omit<SkiffEvent, 'Time'>;
