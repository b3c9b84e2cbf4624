import { Type } from '@fastify/type-provider-typebox';

/** The body of every error answer (error-mapping.ts), for route schemas and the OpenAPI document. */
export const ERROR_BODY = Type.Object({ error: Type.String(), message: Type.String() }, { description: 'an error: a stable code and a message for people' });
