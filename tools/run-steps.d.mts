export interface Step {
  name: string;
  says: string;
  command: string[];
}
export declare const STEPS: Record<string, Omit<Step, 'name'>>;
export declare function runSteps(steps: Step[], say: (line: string) => void): Promise<number>;
