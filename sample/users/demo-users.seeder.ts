import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { DEMO_USERS } from './demo-users';
import { UsersService } from './users.service';

/** Creates the demo users on start (migrations have run by then); existing ones are kept. */
@Injectable()
export class DemoUsersSeeder implements OnApplicationBootstrap {
  constructor(private readonly users: UsersService) {}

  async onApplicationBootstrap(): Promise<void> {
    for (const { username, password } of DEMO_USERS) {
      await this.users.createIfMissing(username, password);
    }
  }
}
