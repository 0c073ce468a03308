-- Headless Neovim as a real LSP client of dockerarch: open the file given on the
-- command line, wait for diagnostics, write them as JSON to $DOCKERARCH_NVIM_OUT, quit.
local out = assert(os.getenv("DOCKERARCH_NVIM_OUT"), "DOCKERARCH_NVIM_OUT not set")
local python = assert(os.getenv("DOCKERARCH_PYTHON"), "DOCKERARCH_PYTHON not set")

local function finish(result)
  local f = assert(io.open(out, "w"))
  f:write(vim.fn.json_encode(result))
  f:close()
  vim.cmd("qall!")
end

local function run()
  local bufnr = vim.api.nvim_get_current_buf()
  local config = {
    name = "dockerarch",
    cmd = { python, "-m", "dockerarch", "lsp" },
    root_dir = vim.fn.getcwd(),
  }
  if vim.lsp.start then -- Neovim >= 0.8
    vim.lsp.start(config)
  else
    vim.lsp.buf_attach_client(bufnr, vim.lsp.start_client(config))
  end
  local ok = vim.wait(15000, function()
    return #vim.diagnostic.get(bufnr) > 0
  end, 20)
  local found = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    local lsp = (d.user_data or {}).lsp or {}
    table.insert(found, {
      code = d.code or lsp.code,
      source = d.source or lsp.source,
      lnum = d.lnum,
      col = d.col,
      end_lnum = d.end_lnum,
      end_col = d.end_col,
      severity = d.severity,
    })
  end
  finish({ ok = ok, version = vim.version(), diagnostics = found })
end

vim.api.nvim_create_autocmd("VimEnter", { callback = run, once = true })
