// The rule for a camera's name (pancake --name): one safe path component, one systemd instance name.

/** Longest camera name accepted. */
export const MAX_CAMERA_NAME_LENGTH = 32;

/**
 * A camera name: 1 to {@link MAX_CAMERA_NAME_LENGTH} ASCII letters, digits, "-" and "_", starting
 * with a letter or digit ("front", "garage-2", "Back_Door").
 *
 * Why so narrow: the name becomes a folder (`mp4_dir/NAME/`, `remote_dir/NAME/YYYY/MM/DD/`) on
 * local disks, SFTP and FTP servers, so it must be one path component on every one of them — no
 * "/", no ".." nor any leading dot (hidden, or postproc's own `.postproc`), no spaces or shell
 * and FTP metacharacters; and it names a systemd template instance (`pancake@NAME.service`),
 * where these characters need no escaping. Names are case-sensitive; on a case-insensitive disk
 * (FAT/exFAT) "Front" and "front" share a folder, so choose names that differ by more than case.
 */
export const CAMERA_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

/** Why `name` is not a valid camera name (one line, quoting it), or undefined when it is valid. Pure. */
export function cameraNameError(name: string): string | undefined {
  if (name.length >= 1 && name.length <= MAX_CAMERA_NAME_LENGTH && CAMERA_NAME_PATTERN.test(name)) return undefined;
  const shown = name.length > 40 ? `${JSON.stringify(name.slice(0, 40))}… (${name.length} characters)` : JSON.stringify(name);
  return `not a camera name: ${shown}: use 1 to ${MAX_CAMERA_NAME_LENGTH} letters, digits, "-" or "_", starting with a letter or digit`;
}
