/**
 * The Redis side of the authority store, as Lua scripts (each runs atomically).
 *
 * Every state written carries `runId`: the run_id of the Redis process that accepted it (INFO
 * server). A state accepted by the Redis running now is a change made since it started, so it is
 * newer than anything an instance kept from before — whatever the versions say. Between states
 * accepted by earlier runs (a restart from a save, a replica promoted) the higher version is the
 * newer one.
 */
const RUN_ID = `local run = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')`
const NOW_MS = `local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)`

/**
 * Applies a batch of authority changes atomically: all versions are checked before anything is
 * written, so a conflicting batch changes nothing.
 *
 * KEYS[1] authority hash (slice → JSON state), KEYS[2] audit stream.
 * ARGV: channel, time (ISO), instance, actor, reason, kind, audit stream max length,
 *       JSON [{ slice, authority, expected (-1 = any), initial, floor, id }], forced ("true"/"false"),
 *       deadline (milliseconds on Redis's clock).
 *
 * A script that starts after its deadline (Redis was frozen while the caller gave up) changes
 * nothing and answers EXPIRED: a change the caller was told failed never lands later. `floor` is
 * the version the asking instance holds: the new version is above both it and the store's, so a
 * store that went back to older data never hands out a version an instance already has. A change
 * to the authority the slice already has in the store writes nothing (when the store has nothing
 * and the config's value is asked, it pins that value: see below); a store behind the instance
 * gets the state written, so that it is the store's.
 * Returns [states as JSON strings, the authority each replaced, "1" changed / "0" unchanged];
 * publishes the new states, as one JSON array, on the channel.
 */
export const APPLY_CHANGES_LUA = `
${NOW_MS}
if now > tonumber(ARGV[10]) then return redis.error_reply('EXPIRED ' .. (now - tonumber(ARGV[10])) .. ' ms after the deadline') end
${RUN_ID}
local changes = cjson.decode(ARGV[8])
local current = {}
local stored = {}
for i, change in ipairs(changes) do
  local raw = redis.call('HGET', KEYS[1], change.slice)
  local state
  if raw then state = cjson.decode(raw) else state = { sliceId = change.slice, authority = change.initial, version = 0 } end
  if change.expected >= 0 and state.version ~= change.expected then
    return redis.error_reply('CONFLICT ' .. change.slice .. ' ' .. state.version .. ' ' .. change.expected)
  end
  current[i] = state
  stored[i] = raw ~= false and raw ~= nil
end
local out = {}
local replaced = {}
local changed = {}
local published = {}
for i, change in ipairs(changes) do
  local previous = current[i]
  if stored[i] and previous.authority == change.authority and previous.version >= change.floor then
    out[i] = cjson.encode(previous)
    replaced[i] = previous.authority
    changed[i] = '0'
  elseif not stored[i] and change.floor == 0 and change.authority == change.initial then
    -- Already so by the config, and the store holds nothing: pinned (version 0, nothing audited or
    -- published), so that a state an instance kept from before cannot come back over this decision.
    local pinned = cjson.encode({ sliceId = change.slice, authority = change.authority, version = 0, changeId = change.id, runId = run })
    redis.call('HSET', KEYS[1], change.slice, pinned)
    out[i] = pinned
    replaced[i] = change.authority
    changed[i] = '0'
  else
    local version = math.max(previous.version, change.floor) + 1
    local encoded = cjson.encode({
      sliceId = change.slice, authority = change.authority, version = version,
      updatedAt = ARGV[2], actor = ARGV[4], reason = ARGV[5], instance = ARGV[3], changeId = change.id, runId = run
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
 * Brings one slice's state back after the store lost it, written only while the store is still
 * behind: it has nothing for the slice, or only a state accepted by an earlier Redis run with a
 * lower version. A state accepted by the running Redis (a change made since it started) always
 * stays. Audited (kind `reseed` or `restore`, actor `ficus`, the reason saying what the store held,
 * which state won, and which versions the store lost) and published. The restored state keeps its
 * own runId, so an instance holding a still newer one from that earlier history can follow.
 *
 * KEYS[1] authority hash, KEYS[2] audit stream.
 * ARGV: channel, time (ISO), instance, slice, the instance's state (JSON), audit stream max length.
 * Returns the state now in the store (JSON) and "1" when it was written, "0" when the store's stays.
 */
export const RESTORE_STATE_LUA = `
${RUN_ID}
local mine = cjson.decode(ARGV[5])
local raw = redis.call('HGET', KEYS[1], ARGV[4])
local kind = 'reseed'
local previous = mine.authority
local held = 'nothing'
local lost = ''
if raw then
  local theirs = cjson.decode(raw)
  if theirs.runId == run or theirs.version >= mine.version then return { raw, '0' } end
  kind = 'restore'
  previous = theirs.authority
  held = 'version ' .. theirs.version .. ' (' .. theirs.authority .. ')'
  if mine.version > theirs.version + 1 then
    lost = '; versions ' .. (theirs.version + 1) .. ' to ' .. (mine.version - 1) .. ' were lost with its data and are missing from this trail'
  end
end
redis.call('HSET', KEYS[1], ARGV[4], ARGV[5])
local confirmed = ''
if type(mine.updatedAt) == 'string' then confirmed = ', confirmed by the store at ' .. mine.updatedAt end
local changeId = ''
if type(mine.changeId) == 'string' then changeId = mine.changeId end
local reason = 'the store held ' .. held .. ' for this slice; instance ' .. ARGV[3] .. ' held version ' .. mine.version .. ' (' .. mine.authority .. ')' .. confirmed .. ': the newer state won' .. lost
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[6], '*',
  'slice', ARGV[4], 'previous', previous, 'authority', mine.authority,
  'version', mine.version, 'actor', 'ficus', 'reason', reason, 'at', ARGV[2],
  'instance', ARGV[3], 'kind', kind, 'forced', 'false', 'change', changeId)
redis.call('PUBLISH', ARGV[1], '[' .. ARGV[5] .. ']')
return { ARGV[5], '1' }
`

/** The run_id of the Redis process and its clock in milliseconds. */
export const RUN_AND_CLOCK_LUA = `
${RUN_ID}
${NOW_MS}
return { run, tostring(now) }
`
