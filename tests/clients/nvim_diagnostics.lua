-- Neovim's built-in LSP client against `vibeward lsp`, headless: open a file, wait for the
-- server's diagnostics, write them as JSON. Run by tests/lsp.rs:
--   VIBEWARD_BIN=... VIBEWARD_ROOT=... VIBEWARD_FILE=... VIBEWARD_OUT=... \
--     nvim --headless --clean -u NONE -c 'luafile tests/clients/nvim_diagnostics.lua'
local bin = os.getenv('VIBEWARD_BIN')
local root = os.getenv('VIBEWARD_ROOT')
local file = os.getenv('VIBEWARD_FILE')
local out = os.getenv('VIBEWARD_OUT')

local client_id = vim.lsp.start_client({ name = 'vibeward', cmd = { bin, 'lsp' }, root_dir = root })
vim.cmd('edit ' .. vim.fn.fnameescape(file))
vim.lsp.buf_attach_client(0, client_id)
local got = vim.wait(30000, function() return #vim.diagnostic.get(0) > 0 end, 50)

local rows = {}
for _, d in ipairs(vim.diagnostic.get(0)) do
  table.insert(rows, {
    lnum = d.lnum, col = d.col, severity = d.severity,
    code = d.code, source = d.source, message = d.message,
  })
end
local f = assert(io.open(out, 'w'))
f:write(vim.fn.json_encode({ waited = got, diagnostics = rows }))
f:close()
vim.lsp.stop_client(client_id)
vim.cmd('qa!')
