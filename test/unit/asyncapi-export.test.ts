import path from 'node:path';
import { Parser } from '@asyncapi/parser';
import { beforeAll, describe, expect, it } from 'vitest';
import { exportAsyncApi } from '../../lambdas/core/asyncapi-export.ts';
import type { Catalog } from '../../lambdas/core/catalog.ts';

/** An exported document, walked freely by the assertions. */
// biome-ignore lint/suspicious/noExplicitAny: JSON documents of any shape; the assertions check them.
type Doc = Record<string, any>;

import { loadCatalog } from '../../lib/definitions/load.ts';

const urls = {
  edge: 'wss://d111.cloudfront.net',
  stage: 'wss://abc123.execute-api.eu-west-1.amazonaws.com/prod',
  token: 'https://xyz.execute-api.eu-west-1.amazonaws.com/oauth2/token',
};
let catalog: Catalog;
beforeAll(async () => {
  catalog = await loadCatalog(path.resolve('apis'));
});
const exported = (name: string) => {
  const api = catalog.apis.find((a) => a.name === name);
  if (!api) throw new Error(`no API ${name}`);
  return exportAsyncApi(catalog.documents?.[api.id], api, urls) as Doc;
};

describe('AsyncAPI export', () => {
  it('gives every shipped API a document the AsyncAPI parser accepts', async () => {
    for (const api of catalog.apis) {
      const { diagnostics } = await new Parser().parse(
        JSON.stringify(exportAsyncApi(catalog.documents?.[api.id], api, urls)),
      );
      expect({ api: api.id, errors: diagnostics.filter((d) => d.severity === 0) }).toEqual({
        api: api.id,
        errors: [],
      });
    }
  });

  it('names the edge and stage servers, with the tenant path, and the OAuth2 scheme with its scopes', () => {
    const doc = exported('TrainRealLocationAPI');
    expect(doc.servers.production).toMatchObject({
      url: 'wss://d111.cloudfront.net/t/quantis.com/train/location/1.0.0',
      protocol: 'wss',
      security: [{ oauth2: [] }],
    });
    expect(doc.servers.stage.url).toBe(urls.stage);
    expect(doc.servers.stage.description).toContain(
      '?target=%2Ft%2Fquantis.com%2Ftrain%2Flocation%2F1.0.0%2Floc-train-qnt-%7BtrainID%7D',
    );
    expect(doc.components.securitySchemes.oauth2).toMatchObject({
      type: 'oauth2',
      flows: { clientCredentials: { tokenUrl: urls.token } },
    });
    expect(
      Object.keys(exported('Chats').components.securitySchemes.oauth2.flows.clientCredentials.scopes),
    ).toEqual(['chat:read', 'chat:write']);
  });

  it('leaves out what only the gateway needs: backends, Kafka bindings, URL mappings, streamgate settings', () => {
    for (const name of ['Chats', 'SweetProdApp', 'TrainRealLocationAPI']) {
      const text = JSON.stringify(exported(name));
      expect(text).not.toMatch(/x-streamgate|x-uri-mapping|"kafka"|siddhi|kafka_sample_topic/);
    }
    // The definition as written is otherwise kept: messages and their schemas.
    expect(
      exported('SweetProdApp').components.messages.TotalCountStream.payload.properties.totalCount,
    ).toEqual({
      type: 'integer',
    });
  });

  it('omits the edge server when there is no edge', () => {
    const api = catalog.apis.find((a) => a.name === 'Chats');
    if (!api) throw new Error('no Chats');
    const doc = exportAsyncApi(catalog.documents?.[api.id], api, {
      stage: urls.stage,
      token: urls.token,
    }) as Doc;
    expect(Object.keys(doc.servers)).toEqual(['stage']);
  });
});
