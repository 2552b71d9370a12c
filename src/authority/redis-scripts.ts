/**
 * Applies a batch of authority changes atomically: all versions are checked before anything is
 * written, so a conflicting batch changes nothing.
 *
 * KEYS[1] authority hash (slice → JSON state), KEYS[2] audit stream.
 * ARGV: channel, time (ISO), instance, actor, reason, kind, audit stream max length,
 *       JSON [{ slice, authority, expected (-1 = any), initial, floor, id }], forced ("true"/"false").
 *
 * `floor` is the version the asking instance holds: the new version is above both it and the
 * store's, so a store that went back to older data never hands out a version an instance already
 * has. A change to the authority the slice already has (and the store is not behind the instance)
 * writes nothing. Returns [states as JSON strings, the authority each replaced, "1" changed / "0"
 * unchanged]; publishes the new states, as one JSON array, on the channel.
 */
export const APPLY_CHANGES_LUA = `
local changes = cjson.decode(ARGV[8])
local current = {}
for i, change in ipairs(changes) do
  local raw = redis.call('HGET', KEYS[1], change.slice)
  local state
  if raw then state = cjson.decode(raw) else state = { sliceId = change.slice, authority = change.initial, version = 0 } end
  if change.expected >= 0 and state.version ~= change.expected then
    return redis.error_reply('CONFLICT ' .. change.slice .. ' ' .. state.version .. ' ' .. change.expected)
  end
  current[i] = state
end
local out = {}
local replaced = {}
local changed = {}
local published = {}
for i, change in ipairs(changes) do
  local previous = current[i]
  if previous.authority == change.authority and previous.version >= change.floor then
    out[i] = cjson.encode(previous)
    replaced[i] = previous.authority
    changed[i] = '0'
  else
    local version = math.max(previous.version, change.floor) + 1
    local encoded = cjson.encode({
      sliceId = change.slice, authority = change.authority, version = version,
      updatedAt = ARGV[2], actor = ARGV[4], reason = ARGV[5], instance = ARGV[3], changeId = change.id
    })
    redis.call('HSET', KEYS[1], change.slice, encoded)
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[7], '*',
      'slice', change.slice, 'previous', previous.authority, 'authority', change.authority,
      'version', version, 'actor', ARGV[4], 'reason', ARGV[5], 'at', ARGV[2],
      'instance', ARGV[3], 'kind', ARGV[6], 'forced', ARGV[9], 'change', change.id)
    out[i] = encoded
    replaced[i] = previous.authority
    changed[i] = '1'
    published[#published + 1] = encoded
  end
end
if #published > 0 then redis.call('PUBLISH', ARGV[1], '[' .. table.concat(published, ',') .. ']') end
return { out, replaced, changed }
`

/**
 * Brings one slice's state back after the store lost it: written only when the store has nothing
 * for the slice or an older version than the instance's, so of several instances repairing at
 * once the newest state wins. Audited (kind `reseed` or `restore`, actor `ficus`, the reason
 * saying which state the store held and which won) and published.
 *
 * KEYS[1] authority hash, KEYS[2] audit stream.
 * ARGV: channel, time (ISO), instance, slice, the instance's state (JSON), audit stream max length.
 * Returns the state now in the store (JSON) and "1" when it was written, "0" when the store's won.
 */
export const RESTORE_STATE_LUA = `
local mine = cjson.decode(ARGV[5])
local raw = redis.call('HGET', KEYS[1], ARGV[4])
local kind = 'reseed'
local previous = 'none'
local held = 'nothing'
if raw then
  local theirs = cjson.decode(raw)
  if theirs.version >= mine.version then return { raw, '0' } end
  kind = 'restore'
  previous = theirs.authority
  held = 'version ' .. theirs.version .. ' (' .. theirs.authority .. ')'
end
redis.call('HSET', KEYS[1], ARGV[4], ARGV[5])
local confirmed = ''
if type(mine.updatedAt) == 'string' then confirmed = ', confirmed by the store at ' .. mine.updatedAt end
local changeId = ''
if type(mine.changeId) == 'string' then changeId = mine.changeId end
local reason = 'the store held ' .. held .. ' for this slice; instance ' .. ARGV[3] .. ' held version ' .. mine.version .. ' (' .. mine.authority .. ')' .. confirmed .. ': the newer state won'
if previous == 'none' then previous = mine.authority end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[6], '*',
  'slice', ARGV[4], 'previous', previous, 'authority', mine.authority,
  'version', mine.version, 'actor', 'ficus', 'reason', reason, 'at', ARGV[2],
  'instance', ARGV[3], 'kind', kind, 'forced', 'false', 'change', changeId)
redis.call('PUBLISH', ARGV[1], '[' .. ARGV[5] .. ']')
return { ARGV[5], '1' }
`
