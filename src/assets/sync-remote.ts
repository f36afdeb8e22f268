import type { S3Client } from "@aws-sdk/client-s3";
import type { Context } from "../core/context.js";
import { keyFor, type BucketTree } from "./keys.js";
import type { LastSync } from "./last-sync.js";
import { parseManifest, withManifest, type AssetsManifest } from "./manifest.js";
import type { LocalAsset, RemoteObject } from "./model.js";
import { keysToInspect } from "./plan.js";
import { forEachLimit } from "./pool.js";
import { inspectObject, listObjects, multipartThreshold, readText } from "./remote.js";
import { describeError, type SyncSettings } from "./sync-settings.js";

/**
 * The bucket's side of a sync, read while the local folder is walked and hashed: the listing under
 * the tree's prefix and lamp's manifest of it. After a complete sync by this project it first only
 * asks whether the manifest is still the one that sync left (a conditional GET: no body if so).
 */

type ManifestRead = Awaited<ReturnType<typeof readText>>;

export interface RemoteSide {
  listing: RemoteObject[];
  manifest: AssetsManifest;
  /** The manifest as read (undefined: none, or unreadable). */
  manifestText?: string;
  manifestEtag?: string;
  /** Every object under the prefix, with what the manifest (or a HEAD) says of it. */
  remote: Map<string, RemoteObject>;
  /** The keys whose metadata had to be asked of S3, one by one. */
  inspected: readonly string[];
}

export class RemoteReader {
  private listedKeys: Set<string> | undefined;
  private manifestCheck: Promise<ManifestRead | undefined> | undefined;
  private state: Promise<[RemoteObject[], ManifestRead | undefined]> | undefined;

  constructor(
    private readonly s3: S3Client,
    private readonly settings: SyncSettings,
    private readonly tree: BucketTree,
    private readonly ctx: Context,
  ) {}

  /** Starts reading: only the manifest check when a last sync is known, else listing and manifest. */
  start(lastSync: LastSync | undefined): void {
    if (lastSync) {
      this.manifestCheck = this.readManifest(lastSync.manifestEtag);
      this.manifestCheck.catch(() => {});
    } else {
      this.state = this.readAll(this.readManifest());
    }
  }

  /** A small file the bucket lacks is hashed by its upload: once the listing is in, those need no hash now. */
  needsHash(asset: LocalAsset): boolean {
    return this.listedKeys === undefined || asset.size >= multipartThreshold || this.listedKeys.has(keyFor(asset.relativePath, this.tree));
  }

  /** After `start(lastSync)`: the bucket's manifest is still the one that sync left. */
  async manifestUnchanged(): Promise<boolean> {
    return (await this.manifestCheck) === "not-modified";
  }

  /** The listing and manifest, and the metadata of every object the manifest cannot vouch for. */
  async read(local: readonly LocalAsset[]): Promise<RemoteSide> {
    if (!this.state) this.state = this.readAll(Promise.resolve(this.manifestCheck!));
    const [listing, manifestRead] = await this.state;
    const manifestText = manifestRead === "not-modified" ? undefined : manifestRead?.text;
    const manifestEtag = manifestRead === "not-modified" ? undefined : manifestRead?.etag;
    const manifest = parseManifest(manifestText);
    const remote = withManifest(listing, manifest);
    const inspected = await this.inspectUnknown(local, remote);
    return { listing, manifest, manifestText, manifestEtag, remote, inspected };
  }

  // The manifest only saves requests: without it (or without access to it) each object's metadata is read instead.
  private readManifest(unlessEtag?: string): Promise<ManifestRead | undefined> {
    const { s3, settings, tree, ctx } = this;
    return readText(s3, settings.bucket, tree.manifestKey, ctx.signal, unlessEtag).catch((error: unknown) => {
      if (ctx.signal.aborted) throw error;
      ctx.ui.debug(`Could not read ${tree.manifestKey} (${describeError(error)}).`);
      return undefined;
    });
  }

  private readAll(manifestRead: Promise<ManifestRead | undefined>): Promise<[RemoteObject[], ManifestRead | undefined]> {
    const state = Promise.all([
      listObjects(this.s3, this.settings.bucket, this.tree.keyPrefix, this.ctx.signal).then((objects) => {
        this.listedKeys = new Set(objects.map((object) => object.key));
        return objects;
      }),
      manifestRead.then((read) => (read === "not-modified" ? this.readManifest() : read)),
    ]);
    state.catch(() => {});
    return state;
  }

  // Objects the manifest cannot vouch for (uploaded by another tool, or changed since): ask each one.
  private async inspectUnknown(local: readonly LocalAsset[], remote: Map<string, RemoteObject>): Promise<string[]> {
    const { settings, ctx } = this;
    const unknown = keysToInspect(local, remote, settings.force, this.tree);
    if (unknown.length > 0) ctx.ui.debug(`Reading the metadata of ${unknown.length} object(s) lamp has no record of.`);
    await forEachLimit(
      unknown,
      settings.concurrency,
      async (key) => {
        try {
          remote.set(key, await inspectObject(this.s3, settings.bucket, remote.get(key)!, ctx.signal));
        } catch (error) {
          if (ctx.signal.aborted) throw error;
          ctx.ui.debug(`Could not read ${key} (${describeError(error)}); it will be uploaded again.`);
        }
      },
      ctx.signal,
    );
    return unknown;
  }
}
