/**
 * `mailprobe publish`: what a domain should publish, judged from what its servers were observed to do
 * (rules/publication.ts), with the documents to publish (render/publication.ts). Without the web sources
 * (--no-web) what is published now is still compared where DNS says it: the SRV records.
 */
import { srvSource } from '../discovery/published/srv.js';
import { type Publication, publicationDocument } from '../render/publication.js';
import type { HostVerdict } from '../rules/evaluate.js';
import { judgePublication } from '../rules/publication.js';
import type { Discovery } from '../types/index.js';

export function buildPublication(discovery: Discovery, hosts: HostVerdict[]): Publication {
  if (discovery.published) return publicationDocument(judgePublication(discovery, hosts));
  const srv = srvSource(discovery);
  const judgement = judgePublication({ ...discovery, published: srv ? [srv] : [] }, hosts);
  return { ...publicationDocument(judgement), onlySrv: true };
}
