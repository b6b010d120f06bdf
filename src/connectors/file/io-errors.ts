import { ConnectionError, DeliveryRejectedError, type JunctionError } from "../../api/errors.js";

/** Errors about the path itself: writing the same message again cannot succeed. */
const PERMANENT = new Set(["ENAMETOOLONG", "EINVAL"]);

/**
 * A file-system error as a JunctionError. Full disks, I/O errors, permissions and missing
 * mounts can be fixed while the message waits, so they are retryable; a path the message made
 * impossible (too long, invalid) is not.
 */
export function ioError(error: unknown, action: string, path: string): JunctionError {
  const code = (error as NodeJS.ErrnoException)?.code ?? "EUNKNOWN";
  const message = `cannot ${action} ${path}: ${(error as Error)?.message ?? String(error)}`;
  if (PERMANENT.has(code)) {
    return new DeliveryRejectedError(message, { cause: error, code: "JUNCTION_FILE_PATH_INVALID" });
  }
  return new ConnectionError(message, { cause: error, code: "JUNCTION_FILE_IO", details: { errno: code } });
}
