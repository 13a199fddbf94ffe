'use strict';
// @fastify/static (loaded by mercurius) requires content-disposition 3, an ES module; Jest's require
// cannot load ES modules below Node 24.9, Node's can (20.19+). Jest maps every `content-disposition`
// here, Express's 1.x included: callable as 1.x, with 3.x's named functions.
const { createRequire } = require('node:module');
const current = createRequire(require.resolve('@fastify/static'))('content-disposition');
module.exports = Object.assign((filename, options) => current.create(filename, options), current);
