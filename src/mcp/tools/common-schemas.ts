import { z } from 'zod';

export const keyArg = z.string().describe('Key: 1-512 UTF-8 bytes, "/" separates segments; no leading "/", "\\", "." or ".." segments, or control characters.');
export const prefixArg = z.string().optional().describe('Only keys starting with this prefix.');
export const limitArg = z.number().int().min(1).max(1000).optional().describe('Page size, 1-1000 (default 100).');
export const cursorArg = z.string().optional().describe('next_cursor of the previous page.');
export const nextCursor = z.string().nullable().describe('Pass as cursor to get the next page; null on the last page.');
export const isoTime = z.string().describe('ISO 8601 time.');
export const expiresAt = z.string().nullable().describe('ISO 8601 time the key expires, or null.');
export const version = z.number().int().describe('Grows by one with every write; 1 for a new key.');
export const deletedResult = z.strictObject({ key: z.string(), deleted: z.literal(true) });
