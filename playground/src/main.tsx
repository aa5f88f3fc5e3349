import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { App } from './App.tsx'
import './styles.css'

const container = document.getElementById('root')
if (!container) throw new Error('index.html has no #root element')

// StrictMode on purpose: useSocket still opens exactly one connection under it.
createRoot(container).render(
  <StrictMode>
    <App />
  </StrictMode>,
)
