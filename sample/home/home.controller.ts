import { Controller, Get } from '@nestjs/common';
import { Public } from 'nest-session-security';
import { DEMO_USERS } from '../users/demo-users';

/** `GET /`: what this server is and how to try it (the web page comes later). */
@Public()
@Controller()
export class HomeController {
  @Get()
  hint(): Record<string, unknown> {
    return {
      name: 'nest-session-security sample',
      hint: 'POST /api/auth/login with {"username","password"} as JSON, keep the cookie, then GET /api/me.',
      demoUsers: DEMO_USERS.map(({ username, password }) => ({ username, password })),
      routes: [
        'POST /api/auth/login {username, password}',
        'POST /api/auth/logout',
        'POST /api/auth/logout-all',
        'GET /api/me',
        'GET /api/cart',
        'POST /api/cart/items {sku, qty}',
        'DELETE /api/cart',
      ],
    };
  }
}
