import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'wagw:public';

/** Opts a controller or route out of the global bearer-token guard (health checks only). */
export const Public = (): ClassDecorator & MethodDecorator => SetMetadata(IS_PUBLIC, true);
