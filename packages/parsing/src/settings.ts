import { env, type Settings } from '@ragline/config';

/** Parsing settings of a parser replica beyond the app's own limits. */
export const ParsingSettings = {
  PARSER_OCR_CONCURRENCY: env
    .int(1, 64)
    .default(2)
    .describe(
      "pages OCR'd at once per parser replica, over all its parse workers (a page is ~1-4 s of one core and ~300 MB); PDF pages without a usable text layer and images are OCR'd unless `layout_recognize` is \"Plain Text\"",
    ),
};
export type ParsingSettings = Settings<typeof ParsingSettings>;
