/**
 * `mailprobe publish`: what a domain should publish, judged from what its servers were observed to do
 * (rules/publication.ts), with the documents to publish (render/publication.ts).
 */
import { type Publication, publicationDocument } from '../render/publication.js';
import type { HostVerdict } from '../rules/evaluate.js';
import { judgePublication } from '../rules/publication.js';
import type { Discovery } from '../types/index.js';

export function buildPublication(discovery: Discovery, hosts: HostVerdict[]): Publication {
  return publicationDocument(judgePublication(discovery, hosts));
}
