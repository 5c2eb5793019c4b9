/**
 * Errors meant for a notebook reader: tslab prints a failing cell's error with its stack, which for
 * an expected situation (interrupted training, missing prerequisite) is noise. These print as one line.
 */

/** An Error whose printed form is just "Name: message" (no stack frames). */
export function cleanError(message: string, name = "Error"): Error {
  const err = new Error(message);
  err.name = name;
  Object.defineProperty(err, "stack", { value: `${name}: ${message}`, enumerable: false, writable: true, configurable: true });
  return err;
}
