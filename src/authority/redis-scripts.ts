/**
 * Applies a batch of authority changes atomically: all versions are checked before anything is
 * written, so a conflicting batch changes nothing.
 *
 * KEYS[1] authority hash (slice → JSON state), KEYS[2] audit stream.
 * ARGV: channel, time (ISO), instance, actor, reason, kind, audit stream max length,
 *       JSON [{ slice, authority, expected (-1 = any), initial }], forced ("true"/"false").
 * Returns [new states as JSON strings, the authority each replaced]; publishes the states, as one
 * JSON array, on the channel.
 */
export const APPLY_CHANGES_LUA = `
local changes = cjson.decode(ARGV[8])
local current = {}
for i, change in ipairs(changes) do
  local raw = redis.call('HGET', KEYS[1], change.slice)
  local state
  if raw then state = cjson.decode(raw) else state = { authority = change.initial, version = 0 } end
  if change.expected >= 0 and state.version ~= change.expected then
    return redis.error_reply('CONFLICT ' .. change.slice .. ' ' .. state.version .. ' ' .. change.expected)
  end
  current[i] = state
end
local out = {}
local replaced = {}
for i, change in ipairs(changes) do
  local previous = current[i]
  local version = previous.version + 1
  local encoded = cjson.encode({
    sliceId = change.slice, authority = change.authority, version = version,
    updatedAt = ARGV[2], actor = ARGV[4], reason = ARGV[5], instance = ARGV[3]
  })
  redis.call('HSET', KEYS[1], change.slice, encoded)
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[7], '*',
    'slice', change.slice, 'previous', previous.authority, 'authority', change.authority,
    'version', version, 'actor', ARGV[4], 'reason', ARGV[5], 'at', ARGV[2],
    'instance', ARGV[3], 'kind', ARGV[6], 'forced', ARGV[9])
  out[i] = encoded
  replaced[i] = current[i].authority
end
redis.call('PUBLISH', ARGV[1], '[' .. table.concat(out, ',') .. ']')
return { out, replaced }
`
