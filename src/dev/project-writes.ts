import { existsSync, watch, type FSWatcher } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import path from "node:path";

/**
 * Notices files PHP creates, changes or deletes in the project folder while it answers a request:
 * in Lambda that folder is /var/task, mounted read-only, so each such write fails there.
 *
 * One inotify watch per folder (fs.watch on a directory reports what happens to the files in it),
 * set up once in the background: a request costs nothing but a counter. A change is PHP's when it
 * arrives while a request is in PHP or just after (events are delivered within milliseconds); the
 * developer saving a file between requests is not reported.
 */

export interface ProjectWritesOptions {
  root: string;
  /** Top-level folders never reported (lamp's own, version control, node_modules). */
  ignoredFolders: readonly string[];
  /** True while PHP answers a request or has just answered one. */
  isPhpBusy(): boolean;
  /** Called once per path (relative, `/`-separated). */
  onWrite(relativePath: string): void;
  /** When a folder cannot be watched (too many folders for the system's inotify limit...): once. */
  onLimit(message: string): void;
}

export interface ProjectWrites {
  /** Resolves when every folder that existed at the start is watched. */
  readonly ready: Promise<void>;
  close(): void;
}

export function watchProjectWrites(options: ProjectWritesOptions): ProjectWrites {
  const watchers = new Map<string, FSWatcher>();
  const reported = new Set<string>();
  const ignored = new Set(options.ignoredFolders);
  let closed = false;
  let limitReported = false;

  const isIgnored = (relative: string) => ignored.has(relative.split("/", 1)[0]!);

  const report = (relative: string) => {
    if (reported.has(relative) || isIgnored(relative)) return;
    reported.add(relative);
    options.onWrite(relative);
  };

  const watchFolder = async (relative: string, reportContents: boolean): Promise<void> => {
    if (closed || watchers.has(relative) || (relative && isIgnored(relative))) return;
    const absolute = path.join(options.root, relative);
    let watcher: FSWatcher;
    try {
      watcher = watch(absolute, { persistent: false }, (_event, name) => {
        if (!name || !options.isPhpBusy()) return;
        const child = relative ? `${relative}/${name}` : name;
        // A new folder: watch it too, and report the files PHP already put in it. A file, or
        // something deleted: report it.
        void stat(path.join(options.root, child)).then(
          (info) => (info.isDirectory() ? watchFolder(child, true) : report(child)),
          () => report(child),
        );
      });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") return;
      if (!limitReported) {
        limitReported = true;
        options.onLimit(`cannot watch ${relative || "."} for writes (${code ?? (error as Error).message}); writes in folders not yet watched go unreported.`);
      }
      return;
    }
    watcher.on("error", () => {
      watcher.close();
      watchers.delete(relative);
    });
    watchers.set(relative, watcher);
    let entries: import("node:fs").Dirent[];
    try {
      entries = await readdir(absolute, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const child = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await watchFolder(child, reportContents);
      else if (reportContents) report(child);
    }
  };

  const ready = watchFolder("", false);
  return {
    ready,
    close: () => {
      closed = true;
      for (const watcher of watchers.values()) watcher.close();
      watchers.clear();
    },
  };
}

/** Calls `onFirst` once, when PHP's default file session handler writes its first `sess_*` file in one of `tmpDirs`. */
export function watchFileSessions(tmpDirs: readonly string[], onFirst: () => void): { close(): void } {
  let done = false;
  const watchers = watchFolders(tmpDirs, (_index, name) => {
    if (done || !name.startsWith("sess_")) return;
    done = true;
    close();
    onFirst();
  });
  const close = () => watchers.forEach((watcher) => watcher.close());
  return { close };
}

/**
 * Calls `onCrossing` once, when PHP's file session handler creates in one instance's /tmp a session
 * file another instance already has: a browser brought the session id of a session started on
 * another instance (PHP, without session.use_strict_mode, reuses the id for a new, empty session).
 */
export function watchInstanceSessions(tmpDirs: readonly string[], onCrossing: (from: number, to: number) => void): { close(): void } {
  let done = false;
  const seen = new Map<string, number>();
  const watchers = watchFolders(tmpDirs, (index, name) => {
    if (done || !name.startsWith("sess_")) return;
    const first = seen.get(name);
    if (first === undefined) {
      seen.set(name, index);
    } else if (first !== index && existsSync(path.join(tmpDirs[first]!, name))) {
      done = true;
      close();
      onCrossing(first, index);
    }
  });
  const close = () => watchers.forEach((watcher) => watcher.close());
  return { close };
}

function watchFolders(folders: readonly string[], onEvent: (index: number, name: string) => void): FSWatcher[] {
  const watchers: FSWatcher[] = [];
  folders.forEach((folder, index) => {
    try {
      const watcher = watch(folder, { persistent: false }, (_event, name) => {
        if (name) onEvent(index, name);
      });
      watcher.on("error", () => watcher.close());
      watchers.push(watcher);
    } catch {
      // No folder to watch: nothing to report.
    }
  });
  return watchers;
}
