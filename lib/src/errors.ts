/**
 * Errors meant for a notebook reader: tslab prints a failing cell's error with its stack, which for
 * an expected situation (interrupted training, missing prerequisite) is noise. These print as one line.
 */

/** An Error whose printed form is just "Name: message" (no stack frames). */
export function cleanError(message: string, name = "Error"): Error {
  const err = new Error(message);
  err.name = name;
  Object.defineProperty(err, "stack", { value: `${name}: ${message}`, enumerable: false, writable: true, configurable: true });
  // console.error / util.inspect would otherwise add the source line and caret Node records for an error thrown
  // from a vm script (tslab runs cells that way) and bracket a stack without frames: "[file:119 throw … ^ Error: …]".
  Object.defineProperty(err, Symbol.for("nodejs.util.inspect.custom"), { value: () => `${name}: ${message}`, enumerable: false });
  return err;
}
