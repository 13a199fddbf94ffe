import { Controller, Get, Header, HttpCode, HttpStatus } from '@nestjs/common';
import { Public } from 'nest-session-security';

/**
 * `GET /favicon.ico`, which every browser asks for on its own: 204, no icon. Without this route
 * the request would end in a 404 (or, behind the global guard, a 401) in the browser's console
 * and the server's logs. Public, so it never needs a session; cached for a day, so a browser
 * does not ask again on every page.
 */
@Public()
@Controller()
export class FaviconController {
  @Get('favicon.ico')
  @HttpCode(HttpStatus.NO_CONTENT)
  @Header('Cache-Control', 'public, max-age=86400')
  favicon(): void {
    // Nothing to send: the status says it all.
  }
}
