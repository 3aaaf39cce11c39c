/**
 * Internal error types of the template engine. They carry the position the
 * public API needs to build Go's messages ("template: NAME:LINE: ..."); the
 * public entry points turn them into SkiffError invalid-input errors.
 */

/** A lexing or parsing error at a source line. */
export class TemplateSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
  }
}

/** An error raised while executing, reported at a node. */
export class TemplateExecError extends Error {
  constructor(
    message: string,
    readonly pos: number,
    readonly context: string,
  ) {
    super(message);
  }
}

/** An error returned by a template function ("error calling NAME: ..."). */
export class FuncError extends Error {}
