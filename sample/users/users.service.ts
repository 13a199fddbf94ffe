import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { hashPassword, verifyPassword } from './password-hash';
import { PublicUser, toPublicUser } from './public-user';
import { UserEntity } from './user.entity';

@Injectable()
export class UsersService {
  /** A hash to check unknown usernames against, so they take as long as wrong passwords. */
  private decoyHash?: Promise<string>;

  constructor(@InjectRepository(UserEntity) private readonly users: Repository<UserEntity>) {}

  /** The user with these credentials, or `null`, in about the same time either way. */
  async verifyCredentials(username: string, password: string): Promise<PublicUser | null> {
    const user = await this.users.findOneBy({ username });
    // Without the decoy, a fast "no" would tell an attacker which usernames exist.
    this.decoyHash ??= hashPassword('decoy password');
    const matches = await verifyPassword(password, user?.passwordHash ?? (await this.decoyHash));
    return user && matches ? toPublicUser(user) : null;
  }

  /**
   * Replaces the password of `id` when `currentPassword` is right; `false` (and no change)
   * when it is wrong or the user no longer exists.
   */
  async changePassword(id: string, currentPassword: string, newPassword: string): Promise<boolean> {
    const user = await this.users.findOneBy({ id });
    if (!user || !(await verifyPassword(currentPassword, user.passwordHash))) return false;
    await this.users.update({ id }, { passwordHash: await hashPassword(newPassword) });
    return true;
  }

  async findById(id: string): Promise<PublicUser | null> {
    const user = await this.users.findOneBy({ id });
    return user ? toPublicUser(user) : null;
  }

  /** Creates the user unless the username is taken (safe when several instances start at once). */
  async createIfMissing(username: string, password: string): Promise<void> {
    if (await this.users.existsBy({ username })) return;
    await this.users
      .createQueryBuilder()
      .insert()
      .values({ username, passwordHash: await hashPassword(password) })
      .orIgnore()
      .execute();
  }
}
